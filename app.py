"""XAI Studio: Streamlit entry point (router only; see pages/)."""

import streamlit as st

st.set_page_config(page_title="XAI Studio", page_icon=":material/visibility:", layout="wide")
navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/explore.py", title="Explore", icon=":material/image_search:", url_path="explore"),
        st.Page("pages/explain.py", title="Explain", icon=":material/visibility:", url_path="explain"),
        st.Page("pages/layers.py", title="Layers & CGMA", icon=":material/layers:", url_path="layers"),
        st.Page("pages/sftgan.py", title="SFT-GAN", icon=":material/auto_awesome:", url_path="sftgan"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:", url_path="evaluate"),
        st.Page("pages/gan_studio.py", title="GAN Studio", icon=":material/tune:", url_path="gan-studio"),
        st.Page("pages/concepts.py", title="Concepts", icon=":material/category:", url_path="concepts"),
        st.Page("pages/synthetic.py", title="Synthetic data", icon=":material/dataset:", url_path="synthetic"),
        st.Page("pages/report.py", title="Report", icon=":material/summarize:", url_path="report"),
    ]
)
navigation.run()
