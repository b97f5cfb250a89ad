export function buildWeb(): Promise<void>;
/** Bundles the browser app (web/app) into `out` (default dist/app). */
export function buildApp(out?: string): Promise<void>;
