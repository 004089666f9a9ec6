# reckit from Debian packages and PyPI only: Debian's Python (3.11 in bookworm), then reckit and
# its dependencies at the versions uv.lock pins, installed by uv (itself from PyPI). FFmpeg comes
# with the imageio-ffmpeg wheel. Build: `docker build -t reckit .`; running one node or several:
# docs/deploy.md.
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*

# The same uv as scripts/setup.sh.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir uv==0.13.9

WORKDIR /opt/reckit
COPY pyproject.toml uv.lock README.md LICENSE ./
COPY src ./src
ENV UV_PROJECT_ENVIRONMENT=/opt/reckit/.venv \
    UV_PYTHON=python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1
# Every storage SDK (the extras), no test tools, reckit itself installed (not editable).
RUN /opt/uv/bin/uv sync --frozen --no-dev --all-extras --no-editable \
    && rm -rf /root/.cache

RUN useradd --system --create-home --home-dir /var/lib/reckit reckit
USER reckit
ENV PATH=/opt/reckit/.venv/bin:$PATH \
    RECKIT_DATA_DIR=/var/lib/reckit \
    PYTHONUNBUFFERED=1
# The data dir: SQLite (one node), the node's ID (node.id), the server key (unless
# RECKIT_SECRET_KEY), the built-in recorder's captures, and the media unless RECKIT_BUCKET_URL.
VOLUME /var/lib/reckit
EXPOSE 8787
# SIGTERM drains (docs/deploy.md): give it `docker stop --time 120`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8787/healthz', timeout=2)"]
# tini: signals reach reckit, and the FFmpeg processes it ends are reaped.
ENTRYPOINT ["tini", "--", "reckit"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8787"]
