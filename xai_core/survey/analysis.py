"""Analysis of A/B comprehension surveys: "which explanation map do you understand better?".

The survey design follows the human-comprehension survey of "Interpreting CNN with conditional GANs" §6
(Fig. 17: per question the votes for LSFT-GAN / Grad-CAM / equal, and how many questions each method won).
Everything here is pure pandas/numpy/scipy on the repository's DataFrames:

``votes`` (one row per answered question): respondent, question (1-based design position), kind
("question" | "attention_noise" | "attention_identical"), method_a, method_b (design order), left_method,
right_method, answer ("a" | "b" | "equal"), confidence (Int64, nullable), comment, response_seconds,
attention_passed (boolean, NA for kind == "question").

``stimulus_metrics`` (one row per question and method): question, method, metric, value, higher_is_better.

Only rows with kind == "question" are analysed; attention checks only decide who is excluded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest, spearmanr

VOTE_COLUMNS = (
    "respondent",
    "question",
    "kind",
    "method_a",
    "method_b",
    "left_method",
    "right_method",
    "answer",
    "confidence",
    "comment",
    "response_seconds",
    "attention_passed",
)
METRIC_COLUMNS = ("question", "method", "metric", "value", "higher_is_better")
REGULAR_KIND = "question"
ANSWERS = ("a", "b", "equal")
EQUAL = "equal"

PER_QUESTION_COLUMNS = ["question", "method_a", "method_b", "votes_a", "votes_b", "equal", "n", "winner"]
ROLE_COLUMNS = ["role", "method_a", "method_b", "questions", "votes_a", "votes_b", "equal", "n", "share_a"]
WINNER_COLUMNS = ["method_or_equal", "questions"]
PAIRWISE_COLUMNS = ["method_a", "method_b", "wins_a", "wins_b", "ties", "decisive", "share_a", "ci_low", "ci_high", "p_value"]
BRADLEY_TERRY_COLUMNS = ["method", "strength", "rank", "wins", "losses", "ties"]
ATTENTION_COLUMNS = ["respondent", "checks", "passed", "failed", "excluded"]
RESPONSE_TIME_COLUMNS = ["scope", "respondent", "count", "median", "q1", "q3", "mean", "min", "max", "median_vs_overall"]
CORRELATION_COLUMNS = ["metric", "spearman_rho", "p_value", "questions"]


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def regular_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The rows with kind == "question" (attention checks removed); ValueError for an answer other than a / b / equal."""
    _require_columns(votes, VOTE_COLUMNS, "votes")
    regular = votes[votes["kind"] == REGULAR_KIND]
    unknown = sorted(set(regular["answer"]) - set(ANSWERS), key=str)
    if unknown:
        raise ValueError(f"votes hold answer(s) {unknown}; expected one of {', '.join(ANSWERS)}")
    return regular


def preference_by_question(votes: pd.DataFrame) -> pd.DataFrame:
    """Per regular question: columns question, method_a, method_b, votes_a, votes_b, equal, n, winner; sorted by question.

    winner is method_a when votes_a is strictly larger than both votes_b and equal, method_b likewise, and
    "equal" otherwise: when "equal" has the most votes or any two answers tie for the most (a 5/5/2 split is
    "equal", as is 4 a / 4 b / 1 equal). This is the per-question verdict of the paper's Fig. 17."""
    regular = regular_votes(votes)
    rows = []
    for question, answers in regular.groupby("question", sort=True):
        counts = answers["answer"].value_counts()
        votes_a, votes_b, equal = (int(counts.get(answer, 0)) for answer in ANSWERS)
        method_a, method_b = answers["method_a"].iloc[0], answers["method_b"].iloc[0]
        if votes_a > votes_b and votes_a > equal:
            winner = method_a
        elif votes_b > votes_a and votes_b > equal:
            winner = method_b
        else:
            winner = EQUAL
        rows.append([int(question), method_a, method_b, votes_a, votes_b, equal, votes_a + votes_b + equal, winner])
    return pd.DataFrame(rows, columns=PER_QUESTION_COLUMNS)


def preference_by_role(per_question: pd.DataFrame, roles: dict[int, str]) -> pd.DataFrame:
    """Captioning surveys: the votes of ``per_question`` (``preference_by_question``) summed per role of the question's
    word (``roles``: question -> "colour", "shape", "relation", ...) and method pair. Columns ROLE_COLUMNS; share_a =
    votes_a / (votes_a + votes_b), NaN without decisive votes. Questions without a role are left out; sorted by role."""
    table = per_question.assign(role=per_question["question"].map(roles)).dropna(subset=["role"])
    if table.empty:
        return pd.DataFrame(columns=ROLE_COLUMNS)
    summed = (
        table.groupby(["role", "method_a", "method_b"], sort=True)
        .agg(questions=("question", "size"), votes_a=("votes_a", "sum"), votes_b=("votes_b", "sum"), equal=("equal", "sum"), n=("n", "sum"))
        .reset_index()
    )
    decisive = summed["votes_a"] + summed["votes_b"]
    summed["share_a"] = (summed["votes_a"] / decisive.where(decisive > 0)).astype("float64")
    return summed[ROLE_COLUMNS]


def question_winners(per_question: pd.DataFrame) -> pd.DataFrame:
    """How many questions each method won (the paper's "LSFT better for 16, Grad-CAM 3, equal 1").

    Columns method_or_equal, questions. Every method of ``per_question`` has a row (0 when it won nothing),
    sorted by questions won (most first, then by name); the "equal" row comes last."""
    if per_question.empty:
        return pd.DataFrame(columns=WINNER_COLUMNS)
    counts = per_question["winner"].value_counts()
    methods = set(per_question["method_a"]) | set(per_question["method_b"])
    method_rows = sorted(([method, int(counts.get(method, 0))] for method in methods), key=lambda row: (-row[1], row[0]))
    return pd.DataFrame(method_rows + [[EQUAL, int(counts.get(EQUAL, 0))]], columns=WINNER_COLUMNS)


def _pair_outcomes(votes: pd.DataFrame) -> pd.DataFrame:
    """Regular votes as (first, second, outcome) with outcome "first" | "second" | "tie", one orientation per
    unordered method pair: the order in which the pair is first asked (lowest question number)."""
    regular = regular_votes(votes).sort_values("question", kind="stable")
    orientation: dict[frozenset, tuple[str, str]] = {}
    rows = []
    for method_a, method_b, answer in zip(regular["method_a"], regular["method_b"], regular["answer"]):
        first, second = orientation.setdefault(frozenset((method_a, method_b)), (method_a, method_b))
        if answer == EQUAL:
            outcome = "tie"
        else:
            chosen = method_a if answer == "a" else method_b
            outcome = "first" if chosen == first else "second"
        rows.append((first, second, outcome))
    return pd.DataFrame(rows, columns=["first", "second", "outcome"])


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927) for a binomial proportion, without continuity correction; NaNs for 0 trials."""
    if trials == 0:
        return math.nan, math.nan
    interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def pairwise_preference(votes: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per unordered method pair: columns method_a, method_b, wins_a, wins_b, ties, decisive, share_a, ci_low,
    ci_high, p_value.

    A pair asked as (x, y) in some questions and (y, x) in others is counted together, oriented as first asked
    (lowest question number). decisive = wins_a + wins_b (ties excluded); share_a = wins_a / decisive with its
    Wilson score interval at ``confidence``; p_value is the two-sided exact binomial test of share_a = 0.5
    (scipy.stats.binomtest). decisive == 0 gives NaN share and interval and p_value 1.0."""
    outcomes = _pair_outcomes(votes)
    rows = []
    for (first, second), pair in outcomes.groupby(["first", "second"], sort=False):
        counts = pair["outcome"].value_counts()
        wins_a, wins_b, ties = (int(counts.get(outcome, 0)) for outcome in ("first", "second", "tie"))
        decisive = wins_a + wins_b
        share_a = wins_a / decisive if decisive else math.nan
        ci_low, ci_high = wilson_interval(wins_a, decisive, confidence)
        p_value = float(binomtest(wins_a, decisive, 0.5).pvalue) if decisive else 1.0
        rows.append([first, second, wins_a, wins_b, ties, decisive, share_a, ci_low, ci_high, p_value])
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


def bradley_terry(votes: pd.DataFrame, max_iter: int = 1000, tol: float = 1e-10) -> pd.DataFrame:
    """Bradley-Terry strengths from all regular votes: columns method, strength, rank, wins, losses, ties; by rank.

    Fitted with the MM algorithm of Hunter (2004), "MM algorithms for generalized Bradley-Terry models":
    p_i <- W_i / sum_j n_ij / (p_i + p_j), then normalised to sum 1, until the largest change is below ``tol``
    or after ``max_iter`` sweeps. W_i counts a tie as half a win for each side and n_ij counts every comparison
    of i with j. A method that never wins (W_i = 0) gets strength 0: that is the maximum-likelihood limit.
    When one group of methods never loses to the rest, the likelihood has no finite maximum and the strengths
    drift towards 0 for the losers; the fit then stops at ``max_iter``. rank 1 is the strongest (equal
    strengths share the better rank); wins, losses, ties are raw vote counts."""
    outcomes = _pair_outcomes(votes)
    methods = sorted(set(outcomes["first"]) | set(outcomes["second"]))
    if not methods:
        return pd.DataFrame(columns=BRADLEY_TERRY_COLUMNS)
    index = {method: i for i, method in enumerate(methods)}
    size = len(methods)
    wins, losses, ties = np.zeros(size, dtype=int), np.zeros(size, dtype=int), np.zeros(size, dtype=int)
    comparisons = np.zeros((size, size))
    for first, second, outcome in outcomes.itertuples(index=False):
        i, j = index[first], index[second]
        comparisons[i, j] += 1
        comparisons[j, i] += 1
        if outcome == "tie":
            ties[[i, j]] += 1
        else:
            winner, loser = (i, j) if outcome == "first" else (j, i)
            wins[winner] += 1
            losses[loser] += 1
    scores = wins + 0.5 * ties
    strength = np.full(size, 1.0 / size)
    for _ in range(max_iter):
        pair_sums = strength[:, None] + strength[None, :]
        rates = np.divide(comparisons, pair_sums, out=np.zeros_like(comparisons), where=comparisons > 0)
        updated = np.divide(scores, rates.sum(axis=1), out=np.zeros(size), where=scores > 0)
        updated /= updated.sum()
        change = np.abs(updated - strength).max()
        strength = updated
        if change < tol:
            break
    table = pd.DataFrame({"method": methods, "strength": strength, "wins": wins, "losses": losses, "ties": ties})
    table["rank"] = table["strength"].rank(ascending=False, method="min").astype(int)
    return table.sort_values(["rank", "method"], kind="stable").reset_index(drop=True)[BRADLEY_TERRY_COLUMNS]


def _fleiss_kappa_with_reason(counts: np.ndarray) -> tuple[float, str]:
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or (counts < 0).any():
        raise ValueError(f"counts must be a non-negative subjects x categories matrix, got shape {counts.shape}")
    counts = counts[counts.sum(axis=1) >= 2]
    if counts.shape[0] == 0:
        return math.nan, "no subject has 2 or more raters"
    raters = counts.sum(axis=1)
    subject_agreement = (counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))
    category_shares = counts.sum(axis=0) / raters.sum()
    chance_agreement = float((category_shares**2).sum())
    if chance_agreement >= 1.0:
        return math.nan, "every rating falls in one category, so chance agreement is 1 and kappa is undefined"
    return (float(subject_agreement.mean()) - chance_agreement) / (1.0 - chance_agreement), ""


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa (Fleiss 1971) of a subjects x categories matrix of rating counts.

    Generalised to a varying number of raters n_i per subject: P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)),
    P_bar = mean_i P_i, p_j = sum_i n_ij / sum_i n_i, P_e = sum_j p_j^2, kappa = (P_bar - P_e) / (1 - P_e);
    with equal n_i this is Fleiss' original. Subjects with fewer than 2 raters are dropped. NaN when no subject
    is left or when all ratings fall in one category (P_e = 1); :func:`agreement` reports which."""
    return _fleiss_kappa_with_reason(counts)[0]


def agreement(votes: pd.DataFrame) -> dict:
    """Inter-rater agreement over the regular questions, categories a / b / equal: Fleiss' kappa (generalised for a
    varying number of raters, see :func:`fleiss_kappa`). Keys: kappa, subjects (questions with 2+ raters),
    raters_mean (mean raters over those questions), categories (["a", "b", "equal"]) and note ("" or why kappa is NaN)."""
    per_question = preference_by_question(votes)
    counts = per_question[["votes_a", "votes_b", "equal"]].to_numpy(dtype=float).reshape(-1, len(ANSWERS))
    kappa, note = _fleiss_kappa_with_reason(counts)
    raters = counts.sum(axis=1)
    kept = raters[raters >= 2]
    return {
        "kappa": kappa,
        "subjects": int(kept.size),
        "raters_mean": float(kept.mean()) if kept.size else math.nan,
        "categories": list(ANSWERS),
        "note": note,
    }


def attention_outcomes(votes: pd.DataFrame) -> pd.DataFrame:
    """Per respondent (every respondent in ``votes``, sorted): columns respondent, checks, passed, failed, excluded.

    checks counts the attention-check rows; an attention check whose attention_passed is NA counts as neither
    passed nor failed. excluded = failed > 0."""
    _require_columns(votes, VOTE_COLUMNS, "votes")
    is_check = votes["kind"] != REGULAR_KIND
    outcome = votes["attention_passed"].astype("boolean")
    table = (
        pd.DataFrame(
            {
                "respondent": votes["respondent"],
                "checks": is_check.astype(int),
                "passed": (is_check & outcome.eq(True).fillna(False)).astype(int),
                "failed": (is_check & outcome.eq(False).fillna(False)).astype(int),
            }
        )
        .groupby("respondent", sort=True, as_index=False)
        .sum()
    )
    table["excluded"] = table["failed"] > 0
    return table[ATTENTION_COLUMNS]


def _time_summary(seconds: pd.Series) -> dict:
    seconds = seconds.dropna().astype(float)
    if seconds.empty:
        return {"count": 0, "median": math.nan, "q1": math.nan, "q3": math.nan, "mean": math.nan, "min": math.nan, "max": math.nan}
    return {
        "count": int(seconds.size),
        "median": float(seconds.median()),
        "q1": float(seconds.quantile(0.25)),
        "q3": float(seconds.quantile(0.75)),
        "mean": float(seconds.mean()),
        "min": float(seconds.min()),
        "max": float(seconds.max()),
    }


def response_times(votes: pd.DataFrame) -> pd.DataFrame:
    """Response seconds over regular questions: columns scope, respondent, count, median, q1, q3, mean, min, max,
    median_vs_overall.

    The first row (scope "overall", respondent "") summarises every answer, then one row per respondent (scope
    "respondent", sorted by id). Quartiles are pandas' linear-interpolation quantiles; median_vs_overall is the
    respondent's median over the overall median (1 for the overall row), so speeders stand out as small values.
    Missing seconds are ignored; with no answers the overall row has count 0 and NaN statistics."""
    regular = regular_votes(votes)
    overall = _time_summary(regular["response_seconds"])
    rows = [{"scope": "overall", "respondent": "", **overall}]
    for respondent, answers in regular.groupby("respondent", sort=True):
        rows.append({"scope": "respondent", "respondent": respondent, **_time_summary(answers["response_seconds"])})
    table = pd.DataFrame(rows, columns=RESPONSE_TIME_COLUMNS[:-1])
    overall_median = overall["median"]
    table["median_vs_overall"] = table["median"] / overall_median if overall_median > 0 else math.nan
    return table


def metric_correlation(votes: pd.DataFrame, stimulus_metrics: pd.DataFrame) -> pd.DataFrame:
    """Does an automatic metric predict which map people prefer? Columns metric, spearman_rho, p_value, questions.

    Per regular question, human preference for a = (votes_a - votes_b) / n and the metric's advantage of a =
    value(method_a) - value(method_b), negated when the metric's higher_is_better is False, so a positive rho means
    people prefer the map the metric calls better. Spearman's rho (scipy.stats.spearmanr) across the questions
    that have both values; NaN rho and p with fewer than 3 such questions or when either side is constant.
    One row per metric, sorted by name."""
    _require_columns(stimulus_metrics, METRIC_COLUMNS, "stimulus_metrics")
    per_question = preference_by_question(votes)
    per_question = per_question[per_question["n"] > 0]
    preference = (per_question["votes_a"] - per_question["votes_b"]) / per_question["n"]
    rows = []
    for metric, values in stimulus_metrics.groupby("metric", sort=True):
        value_of = dict(zip(zip(values["question"].astype(int), values["method"]), values["value"].astype(float)))
        sign = 1.0 if bool(values["higher_is_better"].iloc[0]) else -1.0
        advantage = [
            sign * (value_of.get((question, a), math.nan) - value_of.get((question, b), math.nan))
            for question, a, b in zip(per_question["question"], per_question["method_a"], per_question["method_b"])
        ]
        pairs = pd.DataFrame({"preference": preference.to_numpy(), "advantage": advantage}).dropna()
        rho, p_value = math.nan, math.nan
        if len(pairs) >= 3 and pairs["preference"].nunique() > 1 and pairs["advantage"].nunique() > 1:
            result = spearmanr(pairs["preference"], pairs["advantage"])
            rho, p_value = float(result.statistic), float(result.pvalue)
        rows.append([metric, rho, p_value, len(pairs)])
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def _json_safe(value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def json_records(table: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN / NA as None and numpy scalars as Python ones."""
    return [{column: _json_safe(value) for column, value in row.items()} for row in table.to_dict(orient="records")]


@dataclass
class SurveyAnalysis:
    """Every table of one analysis run. ``attention`` covers all respondents (with their excluded flag); the other
    tables use the analysed respondents only: everyone, or those who failed no attention check when
    ``exclude_failed_attention``. respondents_excluded counts who failed a check whether or not they were dropped."""

    exclude_failed_attention: bool
    respondents_total: int
    respondents_excluded: int
    respondents_analysed: int
    per_question: pd.DataFrame
    winners: pd.DataFrame
    pairwise: pd.DataFrame
    strengths: pd.DataFrame
    agreement: dict
    attention: pd.DataFrame
    response_times: pd.DataFrame
    metric_correlation: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-safe: tables as lists of row dicts, NaN and NA as None, numpy scalars as Python ones."""
        return {
            "exclude_failed_attention": self.exclude_failed_attention,
            "respondents_total": self.respondents_total,
            "respondents_excluded": self.respondents_excluded,
            "respondents_analysed": self.respondents_analysed,
            "per_question": json_records(self.per_question),
            "winners": json_records(self.winners),
            "pairwise": json_records(self.pairwise),
            "strengths": json_records(self.strengths),
            "agreement": {key: _json_safe(value) for key, value in self.agreement.items()},
            "attention": json_records(self.attention),
            "response_times": json_records(self.response_times),
            "metric_correlation": json_records(self.metric_correlation),
        }


def analysed_votes(votes: pd.DataFrame, exclude_failed_attention: bool, attention: pd.DataFrame | None = None) -> pd.DataFrame:
    """The votes an analysis uses: all, or only those of respondents who failed no attention check
    (``attention``: :func:`attention_outcomes` of ``votes`` when already computed)."""
    if not exclude_failed_attention:
        return votes
    attention = attention_outcomes(votes) if attention is None else attention
    return votes[~votes["respondent"].isin(attention.loc[attention["excluded"], "respondent"])]


def analyse(votes: pd.DataFrame, stimulus_metrics: pd.DataFrame | None = None, exclude_failed_attention: bool = True) -> SurveyAnalysis:
    """All tables for one choice of respondents; without ``stimulus_metrics`` the correlation table is empty."""
    attention = attention_outcomes(votes)
    excluded = set(attention.loc[attention["excluded"], "respondent"])
    analysed = analysed_votes(votes, exclude_failed_attention, attention)
    per_question = preference_by_question(analysed)
    metrics = pd.DataFrame(columns=METRIC_COLUMNS) if stimulus_metrics is None else stimulus_metrics
    return SurveyAnalysis(
        exclude_failed_attention=exclude_failed_attention,
        respondents_total=len(attention),
        respondents_excluded=len(excluded),
        respondents_analysed=int(analysed["respondent"].nunique()),
        per_question=per_question,
        winners=question_winners(per_question),
        pairwise=pairwise_preference(analysed),
        strengths=bradley_terry(analysed),
        agreement=agreement(analysed),
        attention=attention,
        response_times=response_times(analysed),
        metric_correlation=metric_correlation(analysed, metrics),
    )


def analyse_both_ways(votes: pd.DataFrame, stimulus_metrics: pd.DataFrame | None = None) -> dict[str, SurveyAnalysis]:
    """{"all respondents": every respondent, "passed attention checks": without those who failed a check}."""
    return {
        "all respondents": analyse(votes, stimulus_metrics, exclude_failed_attention=False),
        "passed attention checks": analyse(votes, stimulus_metrics, exclude_failed_attention=True),
    }
