// Validates Kubernetes objects against the OpenAPI schema of npm's kubernetes-models.
//   node validate.mjs MODELS_DIR FILE.json
// MODELS_DIR: a node_modules directory holding kubernetes-models. FILE.json: an array of
// objects. Prints "ok KIND NAME" or "not ok KIND NAME: why" per object; exits 1 when one fails,
// 77 when kubernetes-models cannot be loaded.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modelsDir, file] = process.argv.slice(2);
if (!modelsDir || !file) {
	console.error("usage: node validate.mjs MODELS_DIR FILE.json");
	process.exit(2);
}
const root = join(modelsDir, "kubernetes-models");
try {
	await import(pathToFileURL(join(root, "index.js")).href);
} catch (e) {
	console.error(`validate: cannot load kubernetes-models from ${root}: ${e.message}`);
	process.exit(77);
}
let failed = 0;
for (const obj of JSON.parse(readFileSync(file, "utf8"))) {
	const what = `${obj.kind} ${obj.metadata?.name ?? "?"}`;
	const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : [null, obj.apiVersion];
	const path = group ? join(root, group, version, `${obj.kind}.js`) : join(root, version, `${obj.kind}.js`);
	try {
		const mod = await import(pathToFileURL(path).href);
		new mod[obj.kind](obj).validate();
		console.log(`ok ${what} (${obj.apiVersion})`);
	} catch (e) {
		console.log(`not ok ${what} (${obj.apiVersion}): ${e.message}`);
		failed++;
	}
}
process.exit(failed ? 1 : 0);
