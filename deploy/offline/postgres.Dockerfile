# A stand-in for the official postgres image, built from Debian's packages, for machines that
# reach Debian's archive but no image registry. It honours the same POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB variables and the same data folder, so compose.yaml runs
# unchanged with POSTGRES_IMAGE pointing at it (docs/deploy.md, "Without an image registry").
#
#   docker build --network host -f deploy/offline/postgres.Dockerfile \
#       --build-arg BASE_IMAGE=local/python:3.11-bookworm -t local/postgres:15 deploy/offline
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15=15.* \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
