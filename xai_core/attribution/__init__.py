"""Explainers: gradient family (captum), CAM family (own hooks), CGMA, TCAV."""
