# bnlab's one image: `bnlab api`, `bnlab worker` and `bnlab migrate` (docker-compose.yml picks the command).
# BASE_IMAGE: a Debian bookworm image (Python 3.11 comes from Debian); the default is Docker Hub's.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# g++ compiles bn's C++ kernels here, once; the runtime image loads them and needs no compiler.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv g++ \
    && rm -rf /var/lib/apt/lists/*
# Where pip finds the CPU build of torch that constraints.txt pins (PyPI's own torch is a CUDA build of GBs).
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional, for a machine behind a TLS proxy or with local wheels: --build-arg PIP_CERT=... PIP_FIND_LINKS=...
# (declared without defaults, so nothing of the build machine stays in the image).
ARG PIP_CERT
ARG PIP_FIND_LINKS
WORKDIR /opt/bnlab
COPY . .
# The README's install command, word for word (tests/deploy/test_image.py holds the two together).
RUN python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e .
ENV BNLAB_KERNEL_DIR=/opt/bnlab/.kernels
RUN .venv/bin/python -m bn.kernels

FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/bnlab bnlab
COPY --from=build /opt/bnlab /opt/bnlab
ENV PATH=/opt/bnlab/.venv/bin:$PATH BNLAB_DATA_DIR=/var/lib/bnlab/data BNLAB_KERNEL_DIR=/opt/bnlab/.kernels \
    PYTHONUNBUFFERED=1
USER bnlab
WORKDIR /var/lib/bnlab
EXPOSE 8000
CMD ["bnlab", "api", "--host", "0.0.0.0", "--port", "8000"]
