# The Cramp Coach image: the skill server by default; `cramp-coach worker` and `cramp-coach db
# upgrade` run from the same image (compose.yaml does all three).
#
#   docker build -t cramp-coach .
#   docker run -p 127.0.0.1:8000:8000 -e DATABASE_URL=postgresql://... cramp-coach
#
# PYTHON_IMAGE can name any Debian-based image with Python 3.11+ and its venv module.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python3 -m venv /opt/cramp-coach
COPY pyproject.toml README.md LICENSE ./
COPY skill ./skill
COPY scheduler ./scheduler
COPY interaction_models ./interaction_models
# A normal (not editable) install: the migrations and data files travel inside the packages.
RUN /opt/cramp-coach/bin/pip install --no-cache-dir --disable-pip-version-check ".[postgres]"

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 cramp-coach \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cramp-coach
COPY --from=build /opt/cramp-coach /opt/cramp-coach
ENV PATH=/opt/cramp-coach/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WEB_BIND=0.0.0.0:8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "python:skill.gunicorn_conf"]
