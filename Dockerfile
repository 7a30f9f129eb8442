FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY waitingroom ./waitingroom
COPY visits ./visits
COPY scheduling ./scheduling
COPY consultations ./consultations
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
CMD ["daphne", "-v", "0", "--no-server-name", "-b", "0.0.0.0", "-p", "8000", "--websocket_timeout", "-1", "waitingroom.asgi:application"]
