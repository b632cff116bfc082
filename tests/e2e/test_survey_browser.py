"""A survey in real Chromium against a real server: two respondents in separate browser contexts answer every question
and get the completion code, then the admin signs in and reads the results page (charts and statistics) and downloads
the responses CSV, which holds exactly the database's votes."""

import pytest
from playwright.sync_api import Locator, Page, expect

from pages.common import keys
from tests.e2e.conftest import ADMIN_PASSWORD, ARTIFACTS, SURVEY_DATA_DIR
from tests.pages.test_survey_pages import png_survey
from xai_core.survey.export import responses_csv
from xai_core.survey.repository import SQLITE_FILE_NAME, SurveyStore

pytestmark = pytest.mark.e2e

QUESTIONS, ATTENTION_CHECKS = 3, 1
TOTAL = QUESTIONS + ATTENTION_CHECKS
# by question number: the first respondent never says "Equally good" and so fails the identical-maps check
ANSWERS = (("A", "B", "A", "B"), ("Equally good",) * TOTAL)


@pytest.fixture
def survey_store(server_url):
    """The server's survey database (emptied when the server started)."""
    store = SurveyStore(f"sqlite:///{SURVEY_DATA_DIR / SQLITE_FILE_NAME}")
    yield store
    store.dispose()


@pytest.fixture
def respondent_pages(browser, request) -> list[Page]:
    """Two tabs in separate browser contexts: two people with their own cookies and Streamlit sessions (each tab's
    screenshot is saved when the test fails)."""
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in ANSWERS]
    pages = [context.new_page() for context in contexts]
    for tab in pages:
        tab.set_default_timeout(60_000)
    yield pages
    for number, (context, tab) in enumerate(zip(contexts, pages), start=1):
        if request.node.rep_call.failed:
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-respondent-{number}.png"), full_page=True)
        context.close()


def shown_question(tab: Page, number: int) -> int:
    return shown_question_of(tab, number, TOTAL)


def shown_question_of(tab: Page, number: int, total: int) -> int:
    """Wait until question ``number`` of ``total`` is on screen with nothing chosen yet (not the previous question's
    stale radios); returns its stimulus position, read from the answer radio's key (Streamlit adds ``st-key-<key>``)."""
    tab.get_by_text(f"Question {number} of {total}", exact=True).wait_for()
    answer_radio = tab.locator(f'[class*="st-key-{keys.SURVEY_ANSWER}_"]')
    expect(answer_radio.locator("input:checked")).to_have_count(0)
    key_class = next(name for name in answer_radio.get_attribute("class").split() if name.startswith("st-key-"))
    return int(key_class.rsplit("_", 1)[1])


def answer(tab: Page, number: int, label: str) -> None:
    """Choose ``label`` on question ``number`` and press this question's own Next / Finish button (a button still on
    screen from the previous question would submit nothing)."""
    position = shown_question(tab, number)
    answer_radio = tab.locator(f".st-key-{keys.SURVEY_ANSWER}_{position}")
    answer_radio.get_by_text(label, exact=True).click()
    expect(answer_radio.locator("input:checked")).to_have_count(1)
    tab.locator(f".st-key-survey_submit_{position}").get_by_role("button", name="Finish" if number == TOTAL else "Next", exact=True).click()


def metric_value(tab: Page, label: str) -> Locator:
    return tab.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def test_two_respondents_answer_and_the_admin_reads_the_results(page, server_url, survey_store, respondent_pages):
    code = png_survey(survey_store, questions=QUESTIONS, attention=ATTENTION_CHECKS)
    completion_code = survey_store.survey(code).completion_code

    for tab in respondent_pages:
        tab.goto(f"{server_url}/survey?code={code}")
        tab.get_by_role("button", name="I agree and want to take part").click()
        tab.get_by_role("button", name="Begin").click()
    shown_question(respondent_pages[0], 1)
    images = respondent_pages[0].locator('[data-testid="stImage"] img')
    expect(images).to_have_count(3)  # the image and explanations A and B
    assert images.evaluate_all("all => all.every(i => i.complete && i.naturalWidth > 0)")
    for number in range(1, TOTAL + 1):  # the two people answer in turns
        for tab, answers in zip(respondent_pages, ANSWERS):
            answer(tab, number, answers[number - 1])
    for tab in respondent_pages:
        tab.get_by_text("Thank you: your answers are saved.").wait_for()
        expect(tab.get_by_text(completion_code, exact=True)).to_be_visible()
        assert tab.get_by_test_id("stSidebarNav").count() == 0  # respondents see only their survey

    progress = survey_store.progress(code)
    assert (progress.respondents, progress.completed, progress.responses) == (2, 2, 2 * TOTAL)
    votes = survey_store.responses(code)
    assert votes.groupby("respondent")["question"].apply(sorted).tolist() == [list(range(1, TOTAL + 1))] * 2
    assert sorted(votes["choice"]) == sorted(["left", "right"] * 2 + ["equal"] * TOTAL)

    page.goto(f"{server_url}/survey-admin")
    page.get_by_label("Admin password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Share link").wait_for()
    expect(page.get_by_text(f"/survey?code={code}", exact=False).first).to_be_visible()
    page.get_by_role("link", name="Results and analysis").click()  # in-app navigation keeps the signed-in session

    page.get_by_role("heading", name="Survey results").wait_for()
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    charts.first.wait_for(state="visible")
    expect(charts).to_have_count(3)  # votes per question, overall preference, response times
    shown = {
        label: metric_value(page, label).inner_text() for label in ("Respondents analysed", "Failed an attention check", "Votes analysed")
    }
    assert shown == {"Respondents analysed": "1", "Failed an attention check": "1", "Votes analysed": str(QUESTIONS)}
    page.locator('[data-testid="stRadio"]').get_by_text("all respondents", exact=True).click()
    expect(metric_value(page, "Respondents analysed")).to_have_text("2")
    expect(metric_value(page, "Votes analysed")).to_have_text(str(2 * QUESTIONS))
    page.get_by_role("heading", name="Survey results").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "survey-results.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Responses (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"survey-{code}-responses.csv"
    with open(download.path(), "rb") as downloaded:
        assert downloaded.read() == responses_csv(survey_store.responses(code))


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


def test_a_respondent_on_a_phone_sees_both_maps_side_by_side_and_never_scrolls_sideways(browser, server_url, survey_store, request):
    """390x844, touch, mobile: every question shows the two explanations next to each other within the screen's
    width, the page is never wider than the screen, and each button is reached and tapped."""
    code = png_survey(survey_store, questions=2, attention=0)
    context = browser.new_context(**PHONE)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(f"{server_url}/survey?code={code}")
        tab.get_by_role("button", name="I agree and want to take part").tap()
        tab.get_by_role("button", name="Begin").tap()
        for number in (1, 2):
            position = shown_question_of(tab, number, total=2)
            images = tab.locator(".st-key-survey_stimuli [data-testid='stImage'] img")
            expect(images).to_have_count(3)
            tab.wait_for_function("() => [...document.querySelectorAll('.st-key-survey_stimuli img')].every(i => i.complete)")
            image, left, right = (images.nth(i).bounding_box() for i in range(3))
            assert left["y"] == right["y"] and left["x"] + left["width"] <= right["x"], "A and B side by side"
            assert image["y"] + image["height"] <= left["y"], "the image above them"
            assert right["x"] + right["width"] <= 390 and left["x"] >= 0 and left["width"] >= 150
            tab.locator(".st-key-survey_stimuli").scroll_into_view_if_needed()
            assert tab.evaluate("() => document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
            if number == 1:
                tab.screenshot(path=str(ARTIFACTS / "survey-phone-question.png"))
            answer_radio = tab.locator(f".st-key-{keys.SURVEY_ANSWER}_{position}")
            answer_radio.get_by_text("A", exact=True).tap()
            button = tab.locator(f".st-key-survey_submit_{position}").get_by_role("button")
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
            button.tap()
        tab.get_by_text("Thank you: your answers are saved.").wait_for()
        assert survey_store.progress(code).responses == 2
    except Exception:
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        raise
    finally:
        context.close()
