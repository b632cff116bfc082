"""Admin access and share links for surveys. The password comes from $XAI_STUDIO_ADMIN_PASSWORD (or the
app's secrets, read by the page layer) and is compared in constant time."""

from __future__ import annotations

import hmac
import os
from urllib.parse import urlencode

ADMIN_PASSWORD_VARIABLE = "XAI_STUDIO_ADMIN_PASSWORD"
PUBLIC_URL_VARIABLE = "XAI_STUDIO_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://localhost:8501"
RESPONDENT_PAGE = "survey"
PROLIFIC_COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"


def password_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; no configured password (None or "") never matches."""
    if not expected:
        return False
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


def configured_admin_password(secrets: dict | None = None) -> str | None:
    """$XAI_STUDIO_ADMIN_PASSWORD, else ``secrets["admin_password"]`` (Streamlit secrets), else None."""
    return os.environ.get(ADMIN_PASSWORD_VARIABLE) or (secrets or {}).get("admin_password") or None


def share_link(code: str, base_url: str | None = None, prolific: bool = False) -> str:
    """The respondents' link: ``<base>/survey?code=<code>``; with ``prolific`` the placeholders Prolific fills in."""
    base = (base_url or os.environ.get(PUBLIC_URL_VARIABLE) or DEFAULT_PUBLIC_URL).rstrip("/")
    query = urlencode({"code": code})
    if prolific:
        query += "&PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    return f"{base}/{RESPONDENT_PAGE}?{query}"
