"""XAI Studio: Streamlit entry point (router only; see pages/)."""

import streamlit as st

st.set_page_config(page_title="XAI Studio", page_icon=":material/visibility:", layout="wide")
navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/studio.py", title="Studio", icon=":material/dashboard:", url_path="studio"),
        st.Page("pages/add_model.py", title="Add a model", icon=":material/upload_file:", url_path="add-model"),
        st.Page("pages/explore.py", title="Explore", icon=":material/image_search:", url_path="explore"),
        st.Page("pages/explain.py", title="Explain", icon=":material/visibility:", url_path="explain"),
        st.Page("pages/layers.py", title="Layers & CGMA", icon=":material/layers:", url_path="layers"),
        st.Page("pages/sftgan.py", title="SFT-GAN", icon=":material/auto_awesome:", url_path="sftgan"),
        st.Page("pages/captioning.py", title="Captioning", icon=":material/subtitles:", url_path="captioning"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:", url_path="evaluate"),
        st.Page("pages/gan_studio.py", title="GAN Studio", icon=":material/tune:", url_path="gan-studio"),
        st.Page("pages/concepts.py", title="Concepts", icon=":material/category:", url_path="concepts"),
        st.Page("pages/synthetic.py", title="Synthetic data", icon=":material/dataset:", url_path="synthetic"),
        st.Page("pages/report.py", title="Report", icon=":material/summarize:", url_path="report"),
        # surveys: respondents arrive by share link, study leads by the admin URL (password)
        st.Page("pages/survey.py", title="Survey", icon=":material/how_to_vote:", url_path="survey", visibility="hidden"),
        st.Page(
            "pages/survey_admin.py",
            title="Survey admin",
            icon=":material/admin_panel_settings:",
            url_path="survey-admin",
            visibility="hidden",
        ),
        st.Page(
            "pages/survey_results.py", title="Survey results", icon=":material/bar_chart:", url_path="survey-results", visibility="hidden"
        ),
    ],
    position="hidden" if "code" in st.query_params else "sidebar",  # a respondent sees only their survey
    expanded=True,  # every page listed (by default Streamlit folds the list after 10 pages)
)
navigation.run()
