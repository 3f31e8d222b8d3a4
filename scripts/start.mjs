// `npm start`: build once (only what is older than its sources; see build.mjs), then run the
// compiled server with node in this process: no TypeScript loader and no page build on a start
// from an unchanged checkout.
import { pathToFileURL } from "node:url";
import { ensureBuilt, SERVER_MAIN } from "./build.mjs";

ensureBuilt();
await import(pathToFileURL(SERVER_MAIN).href);
