// Renders every prompt of a promptfooconfig.yaml for every test's vars, the way promptfoo
// does (js-yaml to read the file, Nunjucks with autoescape off to render), and prints
// the texts as JSON: [[test 0 prompt 0, ...], ...]. A prompt in promptfoo's chat form (a JSON
// list of messages once rendered) is printed as that list, as promptfoo parses it.
const fs = require("fs");
const yaml = require("js-yaml");
const nunjucks = require("nunjucks");

const config = yaml.load(fs.readFileSync(process.argv[2], "utf8"));
const env = new nunjucks.Environment(null, { autoescape: false });
const prompts = config.prompts.map((p) => (typeof p === "string" ? p : p.raw));
function asPromptfooReadsIt(text) {
  try {
    const messages = JSON.parse(text);
    if (Array.isArray(messages)) return messages;
  } catch (e) {
    // plain text
  }
  return text;
}
const rendered = config.tests.map((t) => prompts.map((p) => asPromptfooReadsIt(env.renderString(p, t.vars || {}))));
process.stdout.write(JSON.stringify(rendered));
