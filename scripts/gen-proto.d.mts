export const PROTOS: string[];
export function protoModule(name: string): Promise<string>;
export function protoModulePath(name: string): string;
