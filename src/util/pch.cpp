// pch.cpp — anchors the precompiled header (torch, fmt, json) that every fourmi target reuses.
