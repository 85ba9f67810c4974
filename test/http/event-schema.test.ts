/** docs/events.schema.json is what the event schema produces, and the documented examples fit it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventJsonSchema, SandboxEventSchema } from '../../src/http/event-schema.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('event schema document', () => {
  it('is the schema the code validates events with', () => {
    expect(JSON.parse(doc('events.schema.json'))).toEqual(JSON.parse(eventJsonSchema()));
  });

  it('fits every example event in docs/events.md', () => {
    const examples = [...doc('events.md').matchAll(/```json\n([\s\S]*?)```/g)].map((match) =>
      JSON.parse(match[1]!),
    );
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      // An EventBridge envelope carries the same detail under `detail-type`.
      const event = example.source
        ? {
            id: `${example.detail.sessionId}/${example.detail.sequence}/state`,
            type: example['detail-type'],
            time: example.time,
            detail: example.detail,
          }
        : example;
      expect(SandboxEventSchema.safeParse(event).error?.issues ?? []).toEqual([]);
    }
  });
});
