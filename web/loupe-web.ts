// The one-file browser bundle's entry (dist/loupe-web.js, exported as `loupe/web`): the browser
// entry, bundled with its dependencies for pages that load it without a bundler.
export * from '../index.browser.ts';
