FROM node:20-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8181
WORKDIR /app
COPY pyproject.toml ./
COPY mbflow_site ./mbflow_site
COPY workflows ./workflows
COPY executions ./executions
COPY triggers ./triggers
COPY monitoring ./monitoring
COPY designer ./designer
COPY mbflow ./mbflow
COPY manage.py ./
RUN pip install --no-cache-dir .
COPY --from=frontend /app/frontend/dist ./frontend/dist
EXPOSE 8181
CMD ["sh", "-c", "python manage.py migrate --no-input && python manage.py mbflow_demo && uvicorn mbflow_site.asgi:application --host 0.0.0.0 --port ${PORT}"]
