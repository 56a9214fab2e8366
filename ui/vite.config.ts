import { defineConfig } from "vitest/config";

// Tauri serves ui/dist from the binary; the dev server is only for `vite`.
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: { environment: "happy-dom", include: ["test/**/*.test.ts"] },
});
