/** The output formats of `-o` (light: the command tree imports it; the writers are in output.ts). */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'wide'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** json and yaml print the API's document; table and wide print text for people. */
export const isStructured = (format: OutputFormat): boolean =>
  format === 'json' || format === 'yaml';
