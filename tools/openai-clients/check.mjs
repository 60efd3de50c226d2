// Checks an OpenAI-compatible endpoint (LogitServer or the Gateway) with the clients people use: the official `openai`
// SDK and LangChain.js's ChatOpenAI. Usage:
//   node check.mjs --base-url http://127.0.0.1:8000/v1 --model M [--tools-model M2] [--api-key KEY] [--seed N]
// (or ULD_BASE_URL, ULD_MODEL, ULD_TOOLS_MODEL, ULD_API_KEY, ULD_SEED). Prints "ok <check>: <detail>" per check and
// "N passed, N failed" at the end; exits 1 if any check failed, 2 on bad usage.
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { ChatOpenAI } from '@langchain/openai';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';

function option(name, env) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : process.env[env];
}

const baseURL = option('base-url', 'ULD_BASE_URL');
const model = option('model', 'ULD_MODEL');
const toolsModel = option('tools-model', 'ULD_TOOLS_MODEL') ?? model;
const apiKey = option('api-key', 'ULD_API_KEY') ?? 'not-needed';
if (!baseURL || !model) {
  console.error('usage: node check.mjs --base-url URL --model MODEL [--tools-model MODEL] [--api-key KEY]');
  process.exit(2);
}

// Bounded so that any model, even one with random weights, finishes a value within max_tokens.
const Weather = z.object({
  city: z.string().max(12),
  unit: z.enum(['C', 'F']),
  temperature: z.number().int(),
});
const getWeather = tool(async ({ city }) => `sunny in ${city}`, {
  name: 'get_weather',
  description: 'The current weather in a city',
  schema: z.object({ city: z.string().max(12), unit: z.enum(['C', 'F']) }),
});

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
// Seeded, so that a run against the same deployment is repeatable.
const seed = Number(option('seed', 'ULD_SEED') ?? 7);
const chat = (name, options = {}) => new ChatOpenAI({ model: name, apiKey, configuration: { baseURL }, maxRetries: 0, temperature: 1, maxTokens: 400, modelKwargs: { seed }, ...options });
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];

const checks = {
  async 'openai chat'() {
    const r = await client.chat.completions.create({ model, messages, max_tokens: 16, seed });
    const choice = r.choices[0];
    if (typeof choice.message.content !== 'string' || !['stop', 'length'].includes(choice.finish_reason)) throw new Error(JSON.stringify(r));
    return `${r.usage.completion_tokens} tokens, finish_reason ${choice.finish_reason}`;
  },
  async 'openai streaming'() {
    const stream = await client.chat.completions.create({ model, messages, max_tokens: 16, seed, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    if (!usage || usage.completion_tokens < 1) throw new Error('no usage chunk');
    return `${usage.completion_tokens} tokens streamed (${text.length} characters)`;
  },
  async 'openai structured output (zodResponseFormat)'() {
    const r = await client.chat.completions.parse({ model, messages, max_tokens: 400, seed, response_format: zodResponseFormat(Weather, 'weather') });
    const parsed = r.choices[0].message.parsed;
    Weather.parse(parsed);
    return JSON.stringify(parsed);
  },
  async 'langchain withStructuredOutput(zod, jsonSchema)'() {
    const result = await chat(model).withStructuredOutput(Weather, { method: 'jsonSchema', strict: true }).invoke(messages);
    Weather.parse(result);
    return JSON.stringify(result);
  },
  async 'langchain bindTools with a forced tool'() {
    const message = await chat(toolsModel).bindTools([getWeather], { tool_choice: 'get_weather' }).invoke(messages);
    const call = message.tool_calls?.[0];
    if (!call || call.name !== 'get_weather') throw new Error(`no get_weather call: ${JSON.stringify(message)}`);
    getWeather.schema.parse(call.args);
    return `${call.name}(${JSON.stringify(call.args)}) id ${call.id}`;
  },
  async 'langchain withStructuredOutput(zod, functionCalling)'() {
    const result = await chat(toolsModel).withStructuredOutput(Weather, { method: 'functionCalling' }).invoke(messages);
    Weather.parse(result);
    return JSON.stringify(result);
  },
};

let passed = 0;
let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  try {
    console.log(`ok ${name}: ${await check()}`);
    passed++;
  } catch (e) {
    console.log(`FAILED ${name}: ${e?.message ?? e}`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
