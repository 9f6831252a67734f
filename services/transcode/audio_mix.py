"""Which of a master's sound becomes the renditions' one stereo pair. Pure.

The usual rule of a post house:
- one stream of two or more channels (the first audio stream): stereo as it
  is, 5.1 and other surround layouts downmixed to stereo;
- several mono tracks (MXF and MOV deliveries carry 2, 4, 8): the tracks named
  left and right if there are such, else the first two, as left and right;
- one mono track: the same sound on both sides.
The filter graph ends in `[amix]`: 48 kHz float stereo, which feeds both the AAC
encode and the waveform, so the waveform shows what the renditions carry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from services.transcode.job import Source

# "Left", "Mix L", "LT", "dialogue_left": a side as a word, or L/R/Lt/Rt as the last word.
_LEFT = re.compile(r"(^|.*[^a-z])(l|lt)$|(^|.*[^a-z])left([^a-z].*|$)", re.IGNORECASE)
_RIGHT = re.compile(r"(^|.*[^a-z])(r|rt)$|(^|.*[^a-z])right([^a-z].*|$)", re.IGNORECASE)
_LAYOUT_SIDE = {"FL": "left", "FR": "right"}
# ITU-R BS.775 downmix: centre and surrounds at -3 dB, LFE left out. Channels by
# index in 5.1 order (FL FR FC LFE BL/SL BR/SR), so an untagged 6-channel stream works too.
_DOWNMIX_51 = "pan=stereo|c0=c0+0.707*c2+0.707*c4|c1=c1+0.707*c2+0.707*c5"


@dataclass(frozen=True)
class AudioMix:
    graph: list[str]  # filter chains ending in [amix]
    note: str | None = None


def stereo_mix(source: Source, rate: int) -> AudioMix:
    """The filter chains that make the renditions' stereo pair, and a note saying what was done."""
    tracks = source.audio_tracks
    first_channels = tracks[0]["channels"] if tracks else None
    if first_channels == 1 and sum(1 for t in tracks if t["channels"] == 1) >= 2:
        return _mono_pair(tracks, rate)
    chain = f"[0:a:0]aresample={rate}"
    note = None
    channels = first_channels or source.audio_channels
    if channels and channels > 2:
        if channels == 6:
            chain += f",{_DOWNMIX_51}"
            note = ("5.1 sound was downmixed to stereo for review (centre and surrounds at −3 dB, "
                    "LFE left out).")
        else:
            note = f"{channels}-channel sound was downmixed to stereo for review."
    if len(tracks) > 1:
        others = _track_list(range(2, len(tracks) + 1))
        note = (note + " " if note else "") + (
            f"The master has {len(tracks)} audio tracks; the renditions carry track 1 only "
            f"({others} {'is' if len(tracks) == 2 else 'are'} not in them).")
    return AudioMix([f"{chain},aformat=sample_fmts=fltp:channel_layouts=stereo[amix]"], note)


def _mono_pair(tracks: tuple[dict, ...], rate: int) -> AudioMix:
    monos = [i for i, t in enumerate(tracks) if t["channels"] == 1]
    left = _tagged(tracks, monos, "left")
    right = _tagged(tracks, monos, "right")
    tagged = left is not None and right is not None and left != right
    if not tagged:
        left, right = monos[0], monos[1] if len(monos) > 1 else monos[0]
    graph = [f"[0:a:{left}]aresample={rate}[mixl]", f"[0:a:{right}]aresample={rate}[mixr]",
             "[mixl][mixr]join=inputs=2:channel_layout=stereo:map=0.0-FL|1.0-FR,"
             "aformat=sample_fmts=fltp:channel_layouts=stereo[amix]"]
    rest = [i + 1 for i in range(len(tracks)) if i not in (left, right)]
    why = "named left and right" if tagged else "the first two"
    note = (f"The master has {len(tracks)} mono audio tracks; the stereo pair is {why}: "
            f"{_track_name(tracks, left)} on the left, {_track_name(tracks, right)} on the right.")
    if rest:
        note += f" {_track_list(rest).capitalize()} {'is' if len(rest) == 1 else 'are'} not in the renditions."
    return AudioMix(graph, note)


def _tagged(tracks: tuple[dict, ...], candidates: list[int], side: str) -> int | None:
    pattern = _LEFT if side == "left" else _RIGHT
    for i in candidates:
        name, layout = (tracks[i].get("name") or "").strip(), tracks[i].get("layout")
        if _LAYOUT_SIDE.get(layout or "") == side or (name and pattern.match(name)):
            return i
    return None


def _track_name(tracks: tuple[dict, ...], index: int) -> str:
    name = tracks[index].get("name")
    return f"track {index + 1} ({name})" if name else f"track {index + 1}"


def _track_list(numbers) -> str:
    numbers = list(numbers)
    if len(numbers) == 1:
        return f"track {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"tracks {numbers[0]}–{numbers[-1]}"
    return "tracks " + ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
