"""Speech to text (the `Transcriber` port): the offline recogniser bundled with pocketsphinx, the
default, which needs no download and no server; or any server speaking OpenAI's
`/v1/audio/transcriptions` (OpenAI itself, faster-whisper servers, …). Both read the audio types
the upload sniffer allows, decoded by `audio`.
"""
