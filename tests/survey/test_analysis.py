"""Survey analysis on constructed votes: per-question winners (the paper's 16 / 3 / 1, Fig. 17), exact binomial tests
with Wilson intervals, Bradley-Terry (Hunter 2004), Fleiss' kappa, attention exclusion, response times, metric correlation."""

import ast
import json
import math
import warnings
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats import norm, spearmanr

from xai_core.reports.charts import bradley_terry_figure, response_time_figure, survey_preference_figure, survey_question_figure
from xai_core.survey import analysis as analysis_module
from xai_core.survey.analysis import (
    VOTE_COLUMNS,
    SurveyAnalysis,
    agreement,
    analyse,
    analyse_both_ways,
    attention_outcomes,
    bradley_terry,
    fleiss_kappa,
    metric_correlation,
    pairwise_preference,
    preference_by_question,
    question_winners,
    regular_votes,
    response_times,
    wilson_interval,
)


def vote(respondent, question, answer, method_a="lsft", method_b="grad_cam", kind="question", passed=None, seconds=5.0):
    return {
        "respondent": respondent,
        "question": question,
        "kind": kind,
        "method_a": method_a,
        "method_b": method_b,
        "left_method": method_a,
        "right_method": method_b,
        "answer": answer,
        "confidence": 3,
        "comment": "",
        "response_seconds": seconds,
        "attention_passed": passed,
    }


def frame(rows) -> pd.DataFrame:
    votes = pd.DataFrame(rows, columns=list(VOTE_COLUMNS))
    return votes.astype({"question": int, "confidence": "Int64", "response_seconds": float, "attention_passed": "boolean"})


def question_votes(question, votes_a, votes_b, equal, method_a="lsft", method_b="grad_cam", first_respondent=0):
    answers = ["a"] * votes_a + ["b"] * votes_b + ["equal"] * equal
    return [vote(f"r{first_respondent + i:02d}", question, answer, method_a, method_b) for i, answer in enumerate(answers)]


def paper_survey() -> pd.DataFrame:
    """20 questions, 25 volunteers: LSFT wins 16 (15/8/2), Grad-CAM 3 (5/18/2), equal 1 (10/10/5 is a tie at the top)."""
    rows = []
    for question in range(1, 17):
        rows += question_votes(question, 15, 8, 2)
    for question in range(17, 20):
        rows += question_votes(question, 5, 18, 2)
    rows += question_votes(20, 10, 10, 5)
    return frame(rows)


def test_paper_survey_gives_16_3_1():
    per_question = preference_by_question(paper_survey())
    assert list(per_question.columns) == ["question", "method_a", "method_b", "votes_a", "votes_b", "equal", "n", "winner"]
    assert per_question["question"].tolist() == list(range(1, 21))
    assert per_question.iloc[0][["votes_a", "votes_b", "equal", "n", "winner"]].tolist() == [15, 8, 2, 25, "lsft"]
    assert per_question.iloc[16]["winner"] == "grad_cam"
    assert per_question.iloc[19]["winner"] == "equal"
    winners = question_winners(per_question)
    assert winners.values.tolist() == [["lsft", 16], ["grad_cam", 3], ["equal", 1]]


@pytest.mark.parametrize(
    "votes_a, votes_b, equal, winner",
    [
        (3, 2, 2, "lsft"),
        (2, 3, 2, "grad_cam"),
        (2, 2, 3, "equal"),
        (5, 5, 2, "equal"),
        (5, 2, 5, "equal"),
        (2, 5, 5, "equal"),
        (4, 4, 4, "equal"),
        (1, 0, 0, "lsft"),
    ],
)
def test_winner_ties_at_the_top_are_equal(votes_a, votes_b, equal, winner):
    assert preference_by_question(frame(question_votes(1, votes_a, votes_b, equal)))["winner"].tolist() == [winner]


def test_winners_list_methods_that_won_nothing():
    per_question = preference_by_question(frame(question_votes(1, 3, 1, 0) + question_votes(2, 1, 1, 0)))
    assert question_winners(per_question).values.tolist() == [["lsft", 1], ["grad_cam", 0], ["equal", 1]]


def test_attention_checks_are_not_questions():
    rows = question_votes(1, 2, 1, 0) + [
        vote("r00", 2, "a", kind="attention_noise", passed=True),
        vote("r01", 3, "equal", kind="attention_identical", passed=False),
    ]
    per_question = preference_by_question(frame(rows))
    assert per_question["question"].tolist() == [1] and per_question["n"].tolist() == [3]


def test_pairwise_binomial_test_and_wilson_interval_by_hand():
    # one pair asked both ways: (lsft, grad_cam) first in question 1, (grad_cam, lsft) in question 2.
    rows = question_votes(1, 10, 3, 2) + question_votes(2, 2, 5, 1, method_a="grad_cam", method_b="lsft")
    pairwise = pairwise_preference(frame(rows))
    assert len(pairwise) == 1
    row = pairwise.iloc[0]
    assert [row["method_a"], row["method_b"], row["wins_a"], row["wins_b"], row["ties"], row["decisive"]] == [
        "lsft",
        "grad_cam",
        15,
        5,
        3,
        20,
    ]
    assert row["share_a"] == 0.75
    one_sided = sum(comb(20, k) for k in range(15, 21)) / 2**20
    assert row["p_value"] == pytest.approx(2 * one_sided, rel=1e-12)
    z, n, share = norm.ppf(0.975), 20, 0.75
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half_width = z / (1 + z**2 / n) * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    assert row["ci_low"] == pytest.approx(centre - half_width, rel=1e-9)
    assert row["ci_high"] == pytest.approx(centre + half_width, rel=1e-9)
    z90 = norm.ppf(0.95)
    low90 = (share + z90**2 / (2 * n) - z90 * math.sqrt(share * (1 - share) / n + z90**2 / (4 * n**2))) / (1 + z90**2 / n)
    assert pairwise_preference(frame(rows), confidence=0.9).iloc[0]["ci_low"] == pytest.approx(low90, rel=1e-9)


def test_pairwise_without_decisive_votes_and_with_several_pairs():
    rows = question_votes(1, 0, 0, 4) + question_votes(2, 3, 0, 0, method_a="gsft", method_b="lsft")
    pairwise = pairwise_preference(frame(rows))
    assert pairwise[["method_a", "method_b"]].values.tolist() == [["lsft", "grad_cam"], ["gsft", "lsft"]]
    tied = pairwise.iloc[0]
    assert tied["decisive"] == 0 and tied["ties"] == 4 and tied["p_value"] == 1.0
    assert math.isnan(tied["share_a"]) and math.isnan(tied["ci_low"]) and math.isnan(tied["ci_high"])
    assert pairwise.iloc[1]["p_value"] == pytest.approx(2 * 0.5**3)
    assert all(math.isnan(bound) for bound in wilson_interval(0, 0))


def test_bradley_terry_two_methods_is_the_win_ratio_with_ties_as_halves():
    strengths = bradley_terry(frame(question_votes(1, 6, 3, 2)))
    assert strengths.values.tolist() == [
        ["lsft", pytest.approx(7 / 11, abs=1e-12), 1, 6, 3, 2],
        ["grad_cam", pytest.approx(4 / 11, abs=1e-12), 2, 3, 6, 2],
    ]


def bradley_terry_maximum_likelihood(scores: dict, comparisons: dict, methods: list) -> np.ndarray:
    """Direct maximisation of sum_i W_i log p_i - sum_{i<j} n_ij log(p_i + p_j) over log-strengths."""

    def negative_log_likelihood(log_strength):
        strength = np.exp(log_strength)
        gain = sum(scores[m] * log_strength[i] for i, m in enumerate(methods))
        loss = sum(n * np.log(strength[methods.index(x)] + strength[methods.index(y)]) for (x, y), n in comparisons.items())
        return loss - gain

    result = minimize(negative_log_likelihood, np.zeros(len(methods)), method="BFGS", options={"gtol": 1e-12})
    strength = np.exp(result.x)
    return strength / strength.sum()


def test_bradley_terry_three_methods_maximises_the_likelihood():
    rows = (
        question_votes(1, 7, 3, 2)
        + question_votes(2, 4, 5, 1, method_a="gsft", method_b="lsft")
        + question_votes(3, 6, 2, 0, method_a="gsft", method_b="grad_cam")
    )
    strengths = bradley_terry(frame(rows)).set_index("method")
    # W: lsft 7 + 5 + 1.5 = 13.5, grad_cam 3 + 2 + 1 = 6, gsft 4 + 6 + 0.5 = 10.5
    scores = {"lsft": 13.5, "grad_cam": 6.0, "gsft": 10.5}
    comparisons = {("lsft", "grad_cam"): 12, ("gsft", "lsft"): 10, ("gsft", "grad_cam"): 8}
    methods = sorted(scores)
    expected = bradley_terry_maximum_likelihood(scores, comparisons, methods)
    assert strengths.loc[methods, "strength"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert strengths["strength"].sum() == pytest.approx(1.0)
    assert strengths.loc[["lsft", "gsft", "grad_cam"], "rank"].tolist() == [1, 2, 3]
    assert strengths.loc["lsft", ["wins", "losses", "ties"]].tolist() == [12, 7, 3]


def test_bradley_terry_method_that_never_wins_has_strength_zero_without_warnings():
    rows = question_votes(1, 4, 0, 0) + question_votes(2, 2, 2, 0, method_a="gsft", method_b="lsft")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strengths = bradley_terry(frame(rows), max_iter=50).set_index("method")
    assert strengths.loc["grad_cam", "strength"] == 0.0 and strengths.loc["grad_cam", "rank"] == 3
    assert strengths.loc["lsft", "strength"] == pytest.approx(0.5) and strengths.loc["gsft", "strength"] == pytest.approx(0.5)
    assert strengths["strength"].sum() == pytest.approx(1.0)


WIKIPEDIA_FLEISS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_fleiss_kappa_wikipedia_example_and_perfect_agreement():
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.20993070442195522, abs=1e-12)
    assert fleiss_kappa(np.array([[5, 0, 0], [0, 5, 0], [0, 0, 5], [5, 0, 0]])) == pytest.approx(1.0)
    assert math.isnan(fleiss_kappa(np.array([[4, 0], [4, 0]])))
    assert math.isnan(fleiss_kappa(np.array([[1, 0], [0, 1]])))
    with pytest.raises(ValueError):
        fleiss_kappa(np.array([1, 2, 3]))


def test_fleiss_kappa_with_varying_raters_drops_single_rater_subjects():
    counts = np.array([[3, 1], [1, 1], [0, 1]])  # the last subject has one rater and is dropped
    agreement_1 = (3 * 2 + 0) / (4 * 3)
    agreement_2 = 0 / (2 * 1)
    shares = np.array([4, 2]) / 6
    chance = (shares**2).sum()
    expected = ((agreement_1 + agreement_2) / 2 - chance) / (1 - chance)
    assert fleiss_kappa(counts) == pytest.approx(expected, abs=1e-12)
    assert fleiss_kappa(counts[:2]) == pytest.approx(expected, abs=1e-12)


def test_agreement_over_regular_questions():
    rows = question_votes(1, 3, 1, 0) + question_votes(2, 0, 2, 2) + question_votes(3, 1, 0, 0)
    result = agreement(frame(rows))
    counts = np.array([[3, 1, 0], [0, 2, 2]])
    assert result == {
        "kappa": pytest.approx(fleiss_kappa(counts), abs=1e-12),
        "subjects": 2,
        "raters_mean": 4.0,
        "categories": ["a", "b", "equal"],
        "note": "",
    }
    unanimous = agreement(frame(question_votes(1, 4, 0, 0) + question_votes(2, 3, 0, 0)))
    assert math.isnan(unanimous["kappa"]) and "one category" in unanimous["note"]


def survey_with_attention_checks() -> pd.DataFrame:
    """r00..r03 answer questions 1 and 2; r01 fails one of two checks, r03 has no check and answers a check NA."""
    rows = question_votes(1, 3, 1, 0) + question_votes(2, 1, 2, 1)
    rows += [
        vote("r00", 3, "a", kind="attention_noise", passed=True),
        vote("r00", 4, "equal", kind="attention_identical", passed=True),
        vote("r01", 3, "b", kind="attention_noise", passed=False),
        vote("r01", 4, "equal", kind="attention_identical", passed=True),
        vote("r02", 3, "a", kind="attention_noise", passed=True),
        vote("r03", 3, "a", kind="attention_noise", passed=None),
    ]
    return frame(rows)


def test_attention_outcomes_and_exclusion_both_ways():
    votes = survey_with_attention_checks()
    assert attention_outcomes(votes).values.tolist() == [
        ["r00", 2, 2, 0, False],
        ["r01", 2, 1, 1, True],
        ["r02", 1, 1, 0, False],
        ["r03", 1, 0, 0, False],
    ]
    both = analyse_both_ways(votes)
    assert list(both) == ["all respondents", "passed attention checks"]
    everyone, passed = both["all respondents"], both["passed attention checks"]
    assert (everyone.exclude_failed_attention, passed.exclude_failed_attention) == (False, True)
    assert (everyone.respondents_total, everyone.respondents_excluded, everyone.respondents_analysed) == (4, 1, 4)
    assert (passed.respondents_total, passed.respondents_excluded, passed.respondents_analysed) == (4, 1, 3)
    # r01 answered "a" in question 1 and "b" in question 2 (see question_votes' order).
    assert everyone.per_question[["votes_a", "votes_b", "equal"]].values.tolist() == [[3, 1, 0], [1, 2, 1]]
    assert passed.per_question[["votes_a", "votes_b", "equal"]].values.tolist() == [[2, 1, 0], [1, 1, 1]]
    assert passed.per_question["winner"].tolist() == ["lsft", "equal"]
    assert passed.attention.equals(everyone.attention)


def test_response_times_overall_and_per_respondent():
    rows = [
        vote("r1", 1, "a", seconds=2.0),
        vote("r1", 2, "a", seconds=4.0),
        vote("r1", 3, "b", seconds=12.0),
        vote("r2", 1, "a", seconds=10.0),
        vote("r2", 2, "equal", seconds=20.0),
        vote("r2", 4, "a", kind="attention_noise", passed=True, seconds=99.0),
    ]
    table = response_times(frame(rows))
    assert table.columns.tolist() == ["scope", "respondent", "count", "median", "q1", "q3", "mean", "min", "max", "median_vs_overall"]
    assert table.values.tolist() == [
        ["overall", "", 5, 10.0, 4.0, 12.0, 9.6, 2.0, 20.0, 1.0],
        ["respondent", "r1", 3, 4.0, 3.0, 8.0, 6.0, 2.0, 12.0, 0.4],
        ["respondent", "r2", 2, 15.0, 12.5, 17.5, 15.0, 10.0, 20.0, 1.5],
    ]


def stimulus_metrics(values_a, values_b, metric="average_drop", higher_is_better=True) -> pd.DataFrame:
    rows = []
    for question, (value_a, value_b) in enumerate(zip(values_a, values_b), start=1):
        rows += [
            {"question": question, "method": "lsft", "metric": metric, "value": value_a, "higher_is_better": higher_is_better},
            {"question": question, "method": "grad_cam", "metric": metric, "value": value_b, "higher_is_better": higher_is_better},
        ]
    return pd.DataFrame(rows)


def test_metric_correlation_and_its_sign_flip():
    # preference for a: 4/4, 2/4, 0, -2/4, -4/4 over questions 1..5
    votes = frame(
        question_votes(1, 4, 0, 0)
        + question_votes(2, 3, 1, 0)
        + question_votes(3, 2, 2, 0)
        + question_votes(4, 1, 3, 0)
        + question_votes(5, 0, 4, 0)
    )
    advantage = [0.5, 0.2, 0.4, -0.1, -0.3]
    higher = stimulus_metrics([a + 1 for a in advantage], [1.0] * 5, metric="energy_pointing_game")
    lower = stimulus_metrics([a + 1 for a in advantage], [1.0] * 5, metric="average_drop", higher_is_better=False)
    table = metric_correlation(votes, pd.concat([higher, lower], ignore_index=True))
    expected = spearmanr([1, 0.5, 0, -0.5, -1], advantage)
    assert table["metric"].tolist() == ["average_drop", "energy_pointing_game"]
    assert table["questions"].tolist() == [5, 5]
    assert table.iloc[1]["spearman_rho"] == pytest.approx(expected.statistic) and expected.statistic == pytest.approx(0.9)
    assert table.iloc[0]["spearman_rho"] == pytest.approx(-expected.statistic)
    assert table.iloc[0]["p_value"] == pytest.approx(expected.pvalue) and table.iloc[1]["p_value"] == pytest.approx(expected.pvalue)


def test_metric_correlation_is_nan_for_few_questions_or_constant_input_without_warnings():
    votes = frame(question_votes(1, 4, 0, 0) + question_votes(2, 3, 1, 0) + question_votes(3, 2, 2, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        too_few = metric_correlation(votes, stimulus_metrics([1.0, 2.0], [0.0, 0.0]))
        constant = metric_correlation(votes, stimulus_metrics([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]))
        flat_votes = metric_correlation(
            frame(question_votes(1, 2, 2, 0) + question_votes(2, 1, 1, 0) + question_votes(3, 0, 0, 3)),
            stimulus_metrics([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]),
        )
    assert too_few["questions"].tolist() == [2] and math.isnan(too_few.iloc[0]["spearman_rho"])
    assert constant["questions"].tolist() == [3] and math.isnan(constant.iloc[0]["spearman_rho"])
    assert math.isnan(flat_votes.iloc[0]["spearman_rho"]) and math.isnan(flat_votes.iloc[0]["p_value"])


def test_empty_votes_give_empty_tables_and_nan_statistics():
    empty = frame([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = analyse(empty, stimulus_metrics([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]), exclude_failed_attention=True)
    assert isinstance(result, SurveyAnalysis)
    assert result.per_question.empty and result.winners.empty and result.pairwise.empty and result.strengths.empty
    assert result.attention.empty and (result.respondents_total, result.respondents_analysed) == (0, 0)
    assert math.isnan(result.agreement["kappa"]) and result.agreement["subjects"] == 0
    assert result.response_times.values.tolist()[0][:3] == ["overall", "", 0]
    assert result.metric_correlation["questions"].tolist() == [0]
    payload = result.to_dict()
    json.dumps(payload, allow_nan=False)
    assert payload["agreement"]["kappa"] is None and payload["response_times"][0]["median"] is None
    assert analyse(empty).metric_correlation.empty


def test_to_dict_is_json_safe():
    payload = analyse(survey_with_attention_checks(), exclude_failed_attention=False).to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["winners"] == [
        {"method_or_equal": "grad_cam", "questions": 1},
        {"method_or_equal": "lsft", "questions": 1},
        {"method_or_equal": "equal", "questions": 0},
    ]
    assert payload["attention"][1] == {"respondent": "r01", "checks": 2, "passed": 1, "failed": 1, "excluded": True}
    assert payload["respondents_excluded"] == 1 and payload["exclude_failed_attention"] is False


def test_survey_figures():
    votes = paper_survey()
    result = analyse(votes, exclude_failed_attention=False)
    questions = survey_question_figure(result.per_question)
    assert [trace.name for trace in questions.data] == ["LSFT-GAN", "equal", "Grad-CAM"]
    assert list(questions.data[0].x[:1]) == [pytest.approx(60.0)] and list(questions.data[2].x[:1]) == [pytest.approx(32.0)]
    assert list(questions.data[0].y[:2]) == ["Q1", "Q2"] and questions.layout.barmode == "stack"
    preference = survey_preference_figure(result.pairwise)
    bar = preference.data[0]
    assert list(bar.x) == ["LSFT-GAN vs Grad-CAM"] and list(bar.y) == [pytest.approx(result.pairwise.iloc[0]["share_a"])]
    assert list(bar.error_y.array) == [pytest.approx(result.pairwise.iloc[0]["ci_high"] - result.pairwise.iloc[0]["share_a"])]
    strengths = bradley_terry_figure(result.strengths)
    assert list(strengths.data[0].x) == ["LSFT-GAN", "Grad-CAM"]
    times = response_time_figure(regular_votes(votes))
    assert len(times.data) == 1 and len(times.data[0].y) == 500
    mixed = survey_question_figure(preference_by_question(frame(question_votes(1, 1, 1, 0) + question_votes(2, 1, 0, 0, "gsft", "lsft"))))
    assert [trace.name for trace in mixed.data] == ["method a", "equal", "method b"]
    assert list(mixed.data[0].y) == ["Q1 · LSFT-GAN vs Grad-CAM", "Q2 · GSFT-GAN vs LSFT-GAN"]


def test_votes_contract_is_checked():
    with pytest.raises(ValueError, match="lacks column"):
        preference_by_question(frame(question_votes(1, 1, 0, 0)).drop(columns="answer"))
    with pytest.raises(ValueError, match="left"):
        pairwise_preference(frame([vote("r1", 1, "left")]))


def test_analysis_imports_only_numpy_pandas_scipy():
    tree = ast.parse(Path(analysis_module.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert imported == {"__future__", "dataclasses", "math", "numpy", "pandas", "scipy"}
