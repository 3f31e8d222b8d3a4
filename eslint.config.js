import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "data", "test-results", "drizzle.config.ts", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/only-throw-error": "off",
    },
  },
  {
    // Tests and benchmarks read untyped JSON answers on purpose: assertions check their shape.
    files: ["tests/**", "bench/**"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // Build and start scripts run with plain node.
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    // Only the Stripe integration (and the emulator that impersonates Stripe) may import the SDK.
    files: ["src/**/*.ts", "src/**/*.tsx"],
    ignores: ["src/server/integrations/stripe/**", "src/emulators/**"],
    rules: { "no-restricted-imports": ["error", { paths: [{ name: "stripe", message: "Only src/server/integrations/stripe imports stripe." }] }] },
  },
  {
    // components/ui knows nothing of billing; features never import each other.
    files: ["src/web/components/ui/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["**/features/**", "**/app/**"] }] },
  },
  {
    files: ["src/web/features/billing/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["**/features/groups/**"] }] },
  },
  {
    files: ["src/web/features/groups/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["**/features/billing/**"] }] },
  },
  {
    files: ["src/web/features/api-keys/**"],
    rules: { "no-restricted-imports": ["error", { patterns: ["**/features/billing/**", "**/features/groups/**", "**/features/auth/**"] }] },
  },
);
