// The kos-edge version, injected by the bundler; "dev" when running compiled sources.
declare const __KOS_VERSION__: string | undefined;
export const VERSION: string = typeof __KOS_VERSION__ === "string" ? __KOS_VERSION__ : "dev";
