# syntax=docker/dockerfile:1
# The Leitstand image: the ERP app, the exporter, the optimizer and the SMTP
# catcher of the Compose file, each started as `leitstand <command>`.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app app
COPY exporters exporters
COPY optimizer optimizer
COPY leitstand leitstand
COPY locustfiles locustfiles
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels leitstand
# Data and tokens belong to nobody (65534), the user the Prometheus and
# Alertmanager images run as, so Alertmanager can read the webhook token
# that the optimizer writes with mode 0600.
RUN mkdir -p /var/lib/leitstand /run/leitstand \
    && chown 65534:65534 /var/lib/leitstand /run/leitstand
USER 65534:65534
WORKDIR /var/lib/leitstand
ENTRYPOINT ["leitstand"]
CMD ["--help"]
