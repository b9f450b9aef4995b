# One image for every service; docker-compose.yml picks the command per service. Runtime packages only.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BIND_HOST=0.0.0.0 VAR_DIR=/app/var
COPY . .
RUN pip install --no-cache-dir -c constraints.txt -e . \
 && useradd --create-home retail && mkdir -p /app/var && chown -R retail /app/var
USER retail
