"""Ittybit's five quality words mapped to encoder settings.

CRF values follow each encoder's own scale: x264's 23 is its default "medium"; x265 looks the same
about 5 CRF higher; libvpx-vp9 and libaom-av1 use 0-63. Audio bitrates are per stream.
"""

from __future__ import annotations

VIDEO_CRF: dict[str, dict[str, int]] = {
    "h264": {"very_low": 32, "low": 28, "medium": 23, "high": 21, "very_high": 18},
    "h265": {"very_low": 36, "low": 32, "medium": 28, "high": 26, "very_high": 23},
    "vp9": {"very_low": 42, "low": 37, "medium": 32, "high": 28, "very_high": 24},
    "av1": {"very_low": 44, "low": 38, "medium": 32, "high": 28, "very_high": 24},
}

# AAC, MP3 and Vorbis; Opus reaches the same quality at lower rates.
AUDIO_KBPS = {"very_low": 64, "low": 96, "medium": 128, "high": 192, "very_high": 256}
OPUS_KBPS = {"very_low": 32, "low": 64, "medium": 96, "high": 128, "very_high": 160}

WEBP_QUALITY = {"very_low": 40, "low": 60, "medium": 75, "high": 85, "very_high": 95}
JPEG_QSCALE = {"very_low": 12, "low": 8, "medium": 5, "high": 3, "very_high": 2}  # lower = better
AVIF_CRF = {"very_low": 40, "low": 34, "medium": 30, "high": 25, "very_high": 18}
GIF_COLOURS = {"very_low": 32, "low": 64, "medium": 128, "high": 256, "very_high": 256}
