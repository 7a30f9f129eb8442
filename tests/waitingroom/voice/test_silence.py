"""The silent MP3 is a file that players and the attachments' type check take for MP3."""

import filetype

from waitingroom.voice.silence import FRAME_BYTES, silent_mp3


def test_a_silent_mp3_has_whole_frames_for_the_length_asked_and_reads_as_mp3():
    audio = silent_mp3(3)
    assert len(audio) % FRAME_BYTES == 0 and len(audio) // FRAME_BYTES == 115  # 115 x 26.1 ms >= 3 s
    assert audio[:2] == b"\xff\xfb"
    assert filetype.guess_mime(audio) == "audio/mpeg"
