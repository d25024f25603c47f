// npm run lint: type-aware rules for the TypeScript (lib/ and test/, each
// with its own tsconfig), the recommended rules for the plain JS.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-test/', 'build/', 'build-sanitize/', 'build-arm64/', 'docs/', 'prebuilds/', 'node_modules/', 'test/types/'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        URL: 'readonly',
      },
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Destructuring a field away to pass on the rest is how an option is
      // dropped (create-connection.ts), and a leading _ marks one unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // The spec reads what child processes print (JSON.parse is any) and
      // what a rejection carries; asserting on those values is the test, and
      // a declared type for every report would restate the assertions.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // An async wrapper around a sync call is how the spec turns a throw
      // into a rejection (connectSync beside connect and probe).
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/fixtures/**/*.ts'],
    rules: {
      // A fixture is a program: its async listen callback is the program, and
      // a rejection there ends the process with its stack, which the spec reads.
      '@typescript-eslint/no-misused-promises': 'off',
    },
  },
);
