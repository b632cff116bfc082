"""Survey results (hidden page, password): per-question votes like the paper's Fig. 17, overall preference with
a binomial test, Bradley-Terry ranking, Fleiss' kappa, attention-check exclusion shown both ways, response
times, agreement with the automatic metrics, and CSV / JSON exports."""

import json

import pandas as pd
import streamlit as st

from pages.common import keys
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from pages.common.survey import pick_survey, require_admin, survey_store
from xai_core.explainers import method_label
from xai_core.survey.export import report_dict, report_figures, responses_csv, survey_report

ensure_app_router()
keep_widget_state_across_pages()
st.title("Survey results")
require_admin()
store = survey_store()
survey = pick_survey(store)
if survey is None:
    st.stop()
st.button("Refresh", icon=":material/refresh:", key="survey_results_refresh")
st.caption(
    f"Task: {survey.settings.get('task', 'classification')} · model: {survey.model_id} · "
    f"images: {survey.dataset or 'uploaded'} · {survey.questions} questions"
)
report = survey_report(store, survey.code)
if report.responses.empty:
    st.info("No votes yet. Share the survey link from the Survey admin page.")
    st.stop()

st.subheader("Both ways: everyone, and without respondents who failed an attention check")
rows = []
for name, analysis in report.analyses.items():
    pairs = analysis.pairwise
    first = pairs.iloc[0] if len(pairs) else None
    rows.append(
        {
            "respondents": name,
            "analysed": analysis.respondents_analysed,
            "excluded": analysis.respondents_total - analysis.respondents_analysed,
            "pair": "" if first is None else f"{method_label(first.method_a)} vs {method_label(first.method_b)}",
            "votes a / b / equal": "" if first is None else f"{first.wins_a} / {first.wins_b} / {first.ties}",
            "share a (decisive)": None if first is None else first.share_a,
            "95% CI": "" if first is None or pd.isna(first.share_a) else f"{first.ci_low:.2f}–{first.ci_high:.2f}",
            "binomial p": None if first is None else first.p_value,
            "Fleiss' kappa": analysis.agreement["kappa"],
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)

st.session_state.setdefault(keys.SURVEY_RESPONDENTS, "passed attention checks")
chosen = st.radio("Analyse", list(report.analyses), key=keys.SURVEY_RESPONDENTS, horizontal=True)
analysis = report.analyses[chosen]
figures = report_figures(report, chosen)

columns = st.columns(4)
columns[0].metric("Respondents analysed", analysis.respondents_analysed)
columns[1].metric("Failed an attention check", analysis.respondents_excluded)
columns[2].metric(
    "Fleiss' kappa",
    "n/a" if pd.isna(analysis.agreement["kappa"]) else f"{analysis.agreement['kappa']:.3f}",
    help=analysis.agreement.get("note") or "agreement between respondents on A / B / equal, per question",
)
columns[3].metric("Votes analysed", int(analysis.per_question["n"].sum()) if len(analysis.per_question) else 0)

st.subheader("Votes per question")
st.plotly_chart(figures["questions"], key="survey_questions_chart")
winners = analysis.winners.assign(method_or_equal=lambda t: t.method_or_equal.map(lambda m: m if m == "equal" else method_label(m)))
st.dataframe(winners.rename(columns={"method_or_equal": "preferred", "questions": "questions won"}), hide_index=True)

st.subheader("Overall preference")
st.plotly_chart(figures["preference"], key="survey_preference_chart")
st.dataframe(analysis.pairwise, hide_index=True)
if len(survey.methods) > 2:
    st.subheader("Bradley-Terry ranking")
    st.plotly_chart(figures["bradley_terry"], key="survey_bradley_terry_chart")
    st.dataframe(analysis.strengths, hide_index=True)

st.subheader("Explainability score with human preference")
st.caption(
    "docs/explainability_score.md: 100 × (0.4 fidelity + 0.3 localisation + 0.3 robustness + 0.25 human preference) "
    "/ 1.25. The map parts are means over this survey's questions; human preference is the share of a method's "
    "comparisons it won (a tie counts half). n/a without ground-truth masks (uploaded images), and for captioning "
    "surveys, whose questions store mass on object only."
)
st.dataframe(report.scores[chosen].assign(method=lambda t: t.method.map(method_label)), hide_index=True)

st.subheader("Attention checks")
st.dataframe(analysis.attention, hide_index=True)
st.subheader("Response times (seconds)")
st.plotly_chart(figures["response_times"], key="survey_response_time_chart")
st.dataframe(analysis.response_times, hide_index=True)
st.subheader("Human preference vs automatic metrics")
st.caption(
    "Spearman correlation, over questions, between the share of votes for method a and method a's advantage on "
    "each metric (computed when the survey was built; positive = people prefer the map the metric rates better)."
)
st.dataframe(analysis.metric_correlation, hide_index=True)

if not report.word_roles[chosen].empty:
    st.subheader("Preference by word role")
    st.caption("Captioning: the votes summed over the questions whose highlighted word is a colour, shape or relation word.")
    st.dataframe(report.word_roles[chosen], hide_index=True)

comments = report.responses.loc[report.responses["comment"] != "", ["respondent", "question", "chosen_method", "comment"]]
st.subheader(f"Comments ({len(comments)})")
st.dataframe(comments, hide_index=True)

left, right = st.columns(2)
left.download_button(
    "Responses (CSV)",
    responses_csv(report.responses),
    f"survey-{survey.code}-responses.csv",
    "text/csv",
    icon=":material/download:",
    key="survey_download_csv",
)
right.download_button(
    "Analysis (JSON)",
    json.dumps(report_dict(report), indent=2),
    f"survey-{survey.code}-analysis.json",
    "application/json",
    icon=":material/download:",
    key="survey_download_json",
)
