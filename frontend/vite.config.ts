/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Django serves dist/ through whitenoise at /static/, so every asset URL starts there.
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 3000, sourcemap: false },
  server: {
    port: 5173,
    proxy: {
      "/api": "http://localhost:8181",
      "/login": "http://localhost:8181",
      "/logout": "http://localhost:8181",
      "/ws": { target: "ws://localhost:8181", ws: true },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    watch: false,
  },
});
