"""How a master's picture becomes display pixels: upright, BT.709 SDR. Pure:
ffmpeg filter strings only.

Shared so that every picture the platform shows of a master goes through the
same conversion: the transcode worker's renditions (services/transcode) and
the review service's exact stills (services/review/stills.py). `source` is
anything with the colour attributes of ingest's media facts
(color_primaries, color_transfer, color_space, color_range).
"""
from __future__ import annotations

# ffprobe colour tags that need no conversion to reach BT.709 (None = untagged).
_BT709_LIKE = {None, "bt709"}
_HDR_TRANSFERS = {"smpte2084": "smpte2084", "arib-std-b67": "arib-std-b67"}
# ffprobe tag -> zscale name, for the SDR sources zscale converts.
_ZSCALE_MATRIX = {"bt709": "709", "smpte170m": "170m", "bt470bg": "470bg",
                  "bt2020nc": "2020_ncl", "bt2020c": "2020_cl"}
_ZSCALE_PRIMARIES = {"bt709": "709", "smpte170m": "170m", "bt470bg": "bt470bg",
                     "bt2020": "2020", "smpte240m": "240m"}
_ZSCALE_TRANSFER = {"bt709": "709", "smpte170m": "601", "bt470bg": "601", "bt2020-10": "2020_10",
                    "bt2020-12": "2020_12", "iec61966-2-1": "iec61966-2-1",
                    "smpte2084": "smpte2084", "arib-std-b67": "arib-std-b67"}
# BT.709 limited-range YUV (what colour_filters leaves) to full-range RGB for
# a PNG; both matrices named so swscale never guesses BT.601 for untagged YUV.
# An RGB source passes through untouched.
TO_RGB = ("scale=flags=bicubic+accurate_rnd+full_chroma_int:in_color_matrix=bt709:"
          "out_color_matrix=bt709:in_range=tv:out_range=pc,format=rgb24")


def rotation_filters(rotation: int) -> list[str]:
    """Turn the picture upright (ffmpeg's autorotate off, so this is the only rotation)."""
    return {90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}.get(
        rotation, [])


def colour_filters(source, out_format: str = "yuv420p") -> tuple[list[str], str | None]:
    """Filters that bring the picture to BT.709 SDR at source size (in `out_format`),
    and a note for people if they did."""
    transfer = source.color_transfer
    if transfer in _HDR_TRANSFERS:
        matrix = _ZSCALE_MATRIX.get(source.color_space or "bt2020nc", "2020_ncl")
        primaries = _ZSCALE_PRIMARIES.get(source.color_primaries or "bt2020", "2020")
        name = "PQ (HDR10)" if transfer == "smpte2084" else "HLG"
        return ([f"zscale=transferin={transfer}:matrixin={matrix}:primariesin={primaries}:"
                 f"rangein={_zrange(source)}:transfer=linear:npl=100",
                 "format=gbrpf32le", "zscale=primaries=709",
                 "tonemap=tonemap=hable:desat=0",
                 "zscale=transfer=709:matrix=709:range=limited", f"format={out_format}"],
                f"{name} HDR master: the renditions are tone-mapped to SDR BT.709 "
                "(Hable curve, 100 nits); highlights and saturated colours will look "
                "different from an HDR display.")
    tags = (source.color_space, source.color_primaries, transfer)
    if all(tag in _BT709_LIKE for tag in tags) and source.color_range != "pc":
        return [], None  # untagged is taken as BT.709: no conversion, no shift
    known = (source.color_space in _ZSCALE_MATRIX or source.color_space is None,
             source.color_primaries in _ZSCALE_PRIMARIES or source.color_primaries is None,
             transfer in _ZSCALE_TRANSFER or transfer is None)
    if not all(known):
        return [], (f"Colour tags {'/'.join(str(t) for t in tags)} are not ones we convert; "
                    "the picture was treated as BT.709 and may look shifted.")
    matrix = _ZSCALE_MATRIX.get(source.color_space or "bt709")
    primaries = _ZSCALE_PRIMARIES.get(source.color_primaries or "bt709")
    trc = _ZSCALE_TRANSFER.get(transfer or "bt709")
    return ([f"zscale=matrixin={matrix}:primariesin={primaries}:transferin={trc}:"
             f"rangein={_zrange(source)}:matrix=709:primaries=709:transfer=709:range=limited",
             f"format={out_format}"], None)


def _zrange(source) -> str:
    return "full" if source.color_range == "pc" else "limited"
