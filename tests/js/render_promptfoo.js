// Renders every prompt of a promptfooconfig.yaml for every test's vars, the way promptfoo
// does (js-yaml to read the file, Nunjucks with autoescape off to render), and prints
// the texts as JSON: [[test 0 prompt 0, ...], ...].
const fs = require("fs");
const yaml = require("js-yaml");
const nunjucks = require("nunjucks");

const config = yaml.load(fs.readFileSync(process.argv[2], "utf8"));
const env = new nunjucks.Environment(null, { autoescape: false });
const prompts = config.prompts.map((p) => (typeof p === "string" ? p : p.raw));
const rendered = config.tests.map((t) => prompts.map((p) => env.renderString(p, t.vars || {})));
process.stdout.write(JSON.stringify(rendered));
