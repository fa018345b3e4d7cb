import { z } from 'zod';

const VectorAnswerSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Instant queries against Prometheus's HTTP API. */
export class PrometheusClient {
  constructor(private readonly baseUrl: string) {}

  async query(promql: string): Promise<Sample[]> {
    const url = `${this.baseUrl}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok)
      throw new Error(`Prometheus answered ${response.status} to ${promql}: ${(await response.text()).slice(0, 200)}`);
    const answer = VectorAnswerSchema.parse(await response.json());
    return answer.data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
  }

  /** The single value of a query, or null when it has none (a metric nobody reports yet). */
  async scalar(promql: string): Promise<number | null> {
    const [sample] = await this.query(promql);
    return sample && Number.isFinite(sample.value) ? sample.value : null;
  }
}
