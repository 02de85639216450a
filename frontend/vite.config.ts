/// <reference types="vitest/config" />
// Vite dev server, production build and Vitest configuration for the dashboard.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const BACKEND = process.env.DTWIN_BACKEND_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': BACKEND,
      '/healthz': BACKEND,
      '/readyz': BACKEND,
      '/ws': { target: BACKEND, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    // Plotly is split into its own lazily loaded chunk and is large by nature.
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/testing/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
