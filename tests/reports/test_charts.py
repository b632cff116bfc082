"""Plotly figures of xai_core.reports.charts on constructed inputs."""

from xai_core.reports.charts import training_dynamics_figure, word_intensity_figure, word_mass_figure

WORDS = (("star", "shape"), ("above", "relation"), ("star", "shape"))
MASS = {"grad_cam": (0.75, None, 0.25), "saliency": (0.5, None, 0.125)}
INTENSITY = {"grad_cam": (0.4, 0.1, 0.3), "saliency": (0.2, 0.05, 0.6)}


def _records() -> list[dict]:
    """word_table-shaped rows for "star above star" and two methods."""
    return [
        {
            "position": position,
            "word": word,
            "role": role,
            "object": 0 if role == "shape" else -1,
            "probability": 0.9,
            "method": method,
            "mass_on_object": MASS[method][position],
            "intensity": INTENSITY[method][position],
        }
        for method in MASS
        for position, (word, role) in enumerate(WORDS)
    ]


def test_word_mass_figure_groups_by_position_and_marks_relation_words():
    figure = word_mass_figure(_records(), chosen_position=2)
    assert [trace.name for trace in figure.data] == ["Grad-CAM", "Saliency"]
    for trace, method in zip(figure.data, MASS):
        assert list(trace.x) == ["1. star", "2. above", "3. star"]  # a repeated word keeps one group per position
        assert list(trace.y) == list(MASS[method])
    assert figure.layout.barmode == "group" and list(figure.layout.yaxis.range) == [0, 1]
    assert [(note.x, note.text) for note in figure.layout.annotations] == [("2. above", "no object")]
    band = figure.layout.shapes[0]
    assert (band.x0, band.x1) == (1.5, 2.5)


def test_word_intensity_figure_has_every_word_and_no_object_labels():
    figure = word_intensity_figure(_records())
    assert [list(trace.y) for trace in figure.data] == [list(INTENSITY["grad_cam"]), list(INTENSITY["saliency"])]
    assert not figure.layout.annotations and not figure.layout.shapes
    assert figure.layout.title.text == "Map intensity on the scene's objects, per word"


def test_training_dynamics_figure_puts_probabilities_left_and_losses_right():
    history = [
        {"epoch": 1, "loss_g": 2.0, "loss_d": 0.5, "d_real": 0.9, "d_fake": 0.1},
        {"epoch": 2, "loss_g": 1.5, "loss_d": 0.7, "d_real": 0.7, "d_fake": 0.3},
    ]
    figure = training_dynamics_figure(history, "t")
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces) == ["D(real)", "D(fake)", "loss G", "loss D"]
    assert list(traces["D(fake)"].y) == [0.1, 0.3] and traces["D(fake)"].yaxis == "y"
    assert list(traces["loss D"].y) == [0.5, 0.7] and traces["loss D"].yaxis == "y2"
    assert list(traces["D(real)"].x) == [1, 2] and figure.layout.yaxis.range == (0, 1)
