// deploy/kubernetes/: every object validates against the Kubernetes schema (kubernetes-models), the required
// job settings are there, the pods are wired to the ConfigMap, Secret and volumes that exist, and the pipelines in
// the ConfigMap pass the CLI's own validation.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim, Secret } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config.js';
import { pipelineName, shareOf } from '../../src/pipeline-set.js';
import { SECRET_ENV, envForPipeline } from '../../src/secrets.js';
import { ROOT } from '../support/cli.js';

const DIR = path.join(ROOT, 'deploy', 'kubernetes');
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MODELS: Record<string, new (o: Obj) => { validate(): void }> = {
  'batch/v1 CronJob': CronJob, 'batch/v1 Job': Job, 'v1 ConfigMap': ConfigMap, 'v1 Secret': Secret,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
};

function manifests(): { file: string; obj: Obj }[] {
  const out: { file: string; obj: Obj }[] = [];
  for (const file of readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      out.push({ file, obj: doc.toJS() as Obj });
    }
  }
  return out;
}

const all = manifests();
const byKind = (kind: string) => all.filter((m) => m.obj.kind === kind).map((m) => m.obj);
const configMap = byKind('ConfigMap')[0]!;
const secret = byKind('Secret')[0]!;
const claims = byKind('PersistentVolumeClaim');
const cronJob = byKind('CronJob')[0]!;
const indexedJob = byKind('Job')[0]!;

describe('deploy/kubernetes manifests', () => {
  it('holds a CronJob, an Indexed Job, the pipelines ConfigMap, an example Secret and the state claims', () => {
    expect(all.map((m) => `${m.file}: ${m.obj.kind}/${m.obj.metadata.name}`)).toEqual([
      'configmap.yaml: ConfigMap/traffic-import-pipelines',
      'cronjob.yaml: CronJob/traffic-import',
      'indexed-job.yaml: Job/traffic-import-panels',
      'pvc.yaml: PersistentVolumeClaim/traffic-import-state',
      'pvc.yaml: PersistentVolumeClaim/traffic-import-state-shared',
      'secret.example.yaml: Secret/traffic-import-credentials',
    ]);
  });

  for (const { file, obj } of all) {
    it(`${file} ${obj.kind}/${obj.metadata?.name} validates against the Kubernetes schema`, () => {
      const Model = MODELS[`${obj.apiVersion} ${obj.kind}`];
      expect(Model, `${obj.apiVersion} ${obj.kind}`).toBeDefined();
      expect(() => new Model!(obj).validate()).not.toThrow();
    });
  }

  it('the schema check has teeth: a wrong enum, type or missing field is refused', () => {
    const broken = structuredClone(cronJob);
    broken.spec.concurrencyPolicy = 'Sometimes';
    expect(() => new CronJob(broken).validate()).toThrow(/concurrencyPolicy/);
    const typed = structuredClone(indexedJob);
    typed.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = 'yes';
    expect(() => new Job(typed).validate()).toThrow(/readOnlyRootFilesystem must be boolean/);
    const missing = structuredClone(cronJob);
    delete missing.spec.jobTemplate;
    expect(() => new CronJob(missing).validate()).toThrow(/jobTemplate/);
  });

  it('the CronJob: Forbid, a starting deadline, backoff and active deadlines, Never, and a grace above --grace', () => {
    expect(cronJob.spec).toMatchObject({ concurrencyPolicy: 'Forbid', startingDeadlineSeconds: expect.any(Number) });
    const job = cronJob.spec.jobTemplate.spec;
    expect(job).toMatchObject({ backoffLimit: expect.any(Number), activeDeadlineSeconds: expect.any(Number) });
    expect(job.template.spec.restartPolicy).toBe('Never');
    // --grace defaults to 20 s: Kubernetes must wait longer before its SIGKILL.
    expect(job.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20);
  });

  it('the Indexed Job: Indexed, parallel, and TRAFFIC_IMPORT_SHARDS equal to completions', () => {
    expect(indexedJob.spec).toMatchObject({ completionMode: 'Indexed', parallelism: expect.any(Number) });
    expect(indexedJob.spec.parallelism).toBeGreaterThan(1);
    const env = envOf(indexedJob.spec.template.spec.containers[0]);
    expect(Number(env.TRAFFIC_IMPORT_SHARDS)).toBe(indexedJob.spec.completions);
    // Every pipeline of the ConfigMap is run by exactly one index.
    const names = Object.keys(configMap.data).filter((k) => k.endsWith('.json')).sort();
    const runs = Array.from({ length: indexedJob.spec.completions as number }, (_, i) => shareOf(names, { index: i, count: indexedJob.spec.completions }));
    expect(runs.flat().sort()).toEqual(names);
  });

  for (const [label, pod] of [['CronJob', () => cronJob.spec.jobTemplate.spec.template.spec], ['Indexed Job', () => indexedJob.spec.template.spec]] as const) {
    it(`${label} pod: non-root, read-only root, no capabilities, requests, and wired to what exists`, () => {
      const spec = pod();
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
      expect(spec.automountServiceAccountToken).toBe(false);
      const [c, ...more] = spec.containers;
      expect(more).toEqual([]);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.resources.limits.memory).toEqual(expect.any(String));

      const volumes = new Map<string, Obj>(spec.volumes.map((v: Obj) => [v.name, v]));
      const mounts = new Map<string, Obj>(c.volumeMounts.map((m: Obj) => [m.mountPath, m]));
      for (const m of mounts.values()) expect(volumes.has(m.name), m.name).toBe(true);
      const at = (p: string) => volumes.get(mounts.get(p)?.name)!;
      // The pipelines directory is the ConfigMap, given to `run`.
      expect(at('/etc/traffic-import/pipelines').configMap.name).toBe(configMap.metadata.name);
      expect(c.args.slice(0, 2)).toEqual(['run', '/etc/traffic-import/pipelines']);
      // State on a claim that exists, where TRAFFIC_IMPORT_STATE points.
      const env = envOf(c);
      expect(env.TRAFFIC_IMPORT_STATE).toBe('/state');
      expect(claims.map((x) => x.metadata.name)).toContain(at('/state').persistentVolumeClaim.claimName);
      // A writable /tmp on a read-only root; metrics for the Pushgateway and a file.
      expect(at('/tmp').emptyDir).toBeDefined();
      expect(env.PUSHGATEWAY_URL).toMatch(/^http/);
      expect(c.args).toContain('--metrics-file');
      // Credentials only as files from the Secret; each *_FILE names a key the Secret has, for every pipeline.
      const secretMount = [...mounts.entries()].find(([, m]) => volumes.get(m.name)?.secret)!;
      expect(volumes.get(secretMount[1].name)!.secret.secretName).toBe(secret.metadata.name);
      for (const name of SECRET_ENV) expect(env[name], `${name} in clear`).toBeUndefined();
      const fileVars = Object.keys(env).filter((k) => k.endsWith('_FILE'));
      expect(fileVars.length).toBeGreaterThan(0);
      for (const key of Object.keys(configMap.data)) {
        const pipeline = pipelineName(key);
        const source = JSON.parse(configMap.data[key]).source as { type: string; from?: string };
        // What this pipeline reads: Plesk always; WHM for cPanel's API; OpenSRS for its API.
        const needs = (v: string) => v.startsWith('PLESK_') ||
          (v.startsWith('WHM_') && source.type === 'cpanel' && source.from === 'api') || (v.startsWith('OPENSRS_') && source.type === 'opensrs');
        const resolved = envForPipeline(env, pipeline);
        expect(resolved.PLESK_SECRET_KEY_FILE ?? resolved.PLESK_PASSWORD_FILE, `Plesk credential of ${pipeline}`).toBeDefined();
        for (const v of fileVars.filter(needs)) {
          const file = resolved[v]!;
          expect(path.dirname(file), v).toBe(secretMount[0]);
          expect(Object.keys(secret.stringData), `${v} for ${pipeline}`).toContain(path.basename(file));
        }
      }
    });
  }

  it('the ConfigMap pipelines pass the CLI validation, hold no secret, and keep a short lease (a killed pod is taken over by the next run)', () => {
    const names = Object.keys(configMap.data);
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) {
      expect(name).toMatch(/\.json$/);
      const p = parsePipeline(JSON.parse(configMap.data[name]), `/etc/traffic-import/pipelines/${name}`);
      expect(p.target.url, name).toMatch(/^https:/);
      expect(p.statePath).toBe('/etc/traffic-import/pipelines/state'); // overridden by TRAFFIC_IMPORT_STATE in the pods
      // The running pod renews its lease; one killed by the deadline (or OOM) frees the lock within the lease.
      expect(p.state.leaseMs / 1000).toBeLessThan(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds);
      expect(p.state.leaseMs / 1000).toBeLessThan(indexedJob.spec.activeDeadlineSeconds);
    }
  });

  it('a typo in a ConfigMap pipeline would be caught by the same validation', () => {
    const raw = JSON.parse(configMap.data['panel-a.json']);
    raw.target.batchSise = 100;
    expect(() => parsePipeline(raw, 'panel-a.json')).toThrow(/target\.batchSise: unknown key/);
  });
});

function envOf(container: Obj): Record<string, string> {
  return Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value]));
}
