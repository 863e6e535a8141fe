-- Audit of a program reads the releases of its links newest first (shared/src/infra/audit).
CREATE INDEX rm_links_v1_program_released ON rm_links_v1 (program_name, released_position) WHERE released_position IS NOT NULL;
