/**
 * LinkPreviewer: the cache, the de-duplication of concurrent calls, the fetch queue and
 * shutdown around fetchHtml + parseMetadata. Callers get a result or null, never an error.
 */
import type { Logger } from '../observability';
import { AddressPolicy } from './address';
import { PreviewRefusal, type RefusalCode } from './errors';
import { fetchHtml, vettedAddresses, type FetchedPage } from './fetch';
import { parseMetadata } from './html';
import type { LinkPreviewConfig, LinkPreviewResult } from './types';
import { parseHttpUrl } from './url';

const CACHE_TTL_MS = 10 * 60 * 1000;
const CACHE_MAX_ENTRIES = 1000;
const QUEUE_MAX = 1000;

interface CacheEntry {
  expires: number;
  result: LinkPreviewResult | null;
}

function checkConfig(config: LinkPreviewConfig): void {
  const positive = (key: keyof LinkPreviewConfig, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) throw new Error(`link preview config: ${key} must be an integer >= ${min}, got ${value}`);
  };
  positive('timeoutMs', config.timeoutMs, 1);
  positive('maxBytes', config.maxBytes, 1);
  positive('maxRedirects', config.maxRedirects, 0);
  positive('concurrency', config.concurrency, 1);
}

/**
 * Previews http(s) URLs. `preview` never throws: refusals and failures resolve null and are
 * logged at debug with the host and a reason code. Results (null included) are cached per
 * URL string for 10 minutes (1000 entries, oldest dropped first); concurrent calls for one
 * URL share one fetch; at most `concurrency` fetches run, up to 1000 more wait. Results
 * are frozen and may be shared between callers.
 */
export class LinkPreviewer {
  private readonly policy: AddressPolicy;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<LinkPreviewResult | null>>();
  /** Callers waiting for a fetch slot; resolved true when they get one, false on close. */
  private readonly waiting: Array<(granted: boolean) => void> = [];
  private active = 0;
  private closed = false;
  private readonly shutdown = new AbortController();

  /** Throws if the config is invalid (an allow entry that is not a CIDR, a non-positive limit). */
  constructor(
    private readonly config: LinkPreviewConfig,
    private readonly logger: Logger,
  ) {
    checkConfig(config);
    this.policy = new AddressPolicy(config.allow);
  }

  /** The preview of `url` (kept as given in the result), or null. Never rejects. */
  preview(url: string): Promise<LinkPreviewResult | null> {
    if (this.closed) return Promise.resolve(null);
    const cached = this.cached(url);
    if (cached !== undefined) return Promise.resolve(cached);
    const running = this.inflight.get(url);
    if (running !== undefined) return running;
    const promise = this.run(url).finally(() => this.inflight.delete(url));
    this.inflight.set(url, promise);
    return promise;
  }

  /** Aborts running fetches and drops queued ones (they resolve null), then waits for them to settle. */
  async close(): Promise<void> {
    this.closed = true;
    this.shutdown.abort();
    for (const wake of this.waiting.splice(0)) wake(false);
    await Promise.all(this.inflight.values());
    this.cache.clear();
  }

  private async run(url: string): Promise<LinkPreviewResult | null> {
    const target = parseHttpUrl(url);
    if (target === null) {
      this.skipped(null, 'bad_url');
      return this.remember(url, null);
    }
    if (!(await this.acquire())) {
      // Overload and shutdown say nothing about the page: not cached.
      this.skipped(target, this.closed ? 'closed' : 'queue_full');
      return null;
    }
    try {
      const deadline = Date.now() + this.config.timeoutMs;
      const page = await fetchHtml(target, this.policy, this.config, this.shutdown.signal);
      const parsed = parseMetadata(page.html, page.url);
      const meta = parsed.image_url === null ? parsed : { ...parsed, image_url: await this.vetImage(parsed.image_url, page, deadline) };
      if (meta.title === null && meta.description === null && meta.image_url === null) {
        this.skipped(target, 'no_metadata');
        return this.remember(url, null);
      }
      return this.remember(url, Object.freeze({ url, ...meta }));
    } catch (err) {
      const code = err instanceof PreviewRefusal ? err.code : 'network';
      this.skipped(target, code, err instanceof Error ? err.message : undefined);
      return code === 'closed' ? null : this.remember(url, null);
    } finally {
      this.release();
    }
  }

  /**
   * The page's image URL if members' clients may be sent to it, else null (the rest of the
   * preview stays). Clients load it as an image as soon as the preview shows, from inside
   * their own networks, so it gets the page's rules: http(s), no credentials, and a host
   * whose every address the policy allows. The page's own host was vetted by the fetch;
   * any other is resolved within what is left of the fetch's time budget. Never throws.
   */
  private async vetImage(image: string, page: FetchedPage, deadline: number): Promise<string | null> {
    const url = parseHttpUrl(image);
    if (url === null) return this.imageDropped(null, 'bad_url');
    if (url.username !== '' || url.password !== '') return this.imageDropped(url, 'credentials');
    // The addresses the fetch connected to passed the policy a moment ago: no second lookup.
    if (url.hostname === page.url.hostname && page.addresses.length > 0) return image;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new PreviewRefusal('timeout')), Math.max(0, deadline - Date.now()));
    const onShutdown = (): void => controller.abort(new PreviewRefusal('closed'));
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    try {
      await vettedAddresses(url, this.policy, controller.signal);
      return image;
    } catch (err) {
      return this.imageDropped(url, err instanceof PreviewRefusal ? err.code : 'network');
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }

  private imageDropped(url: URL | null, reason: RefusalCode | 'credentials'): null {
    if (this.logger.isDebugEnabled()) this.logger.debug('link preview image dropped', { host: url?.host ?? null, reason });
    return null;
  }

  private skipped(target: URL | null, reason: RefusalCode | 'queue_full', detail?: string): void {
    // winston builds and pipes entries even when the level drops them; skip that work.
    if (!this.logger.isDebugEnabled()) return;
    this.logger.debug('link preview skipped', { host: target?.host ?? null, reason, detail: detail === reason ? undefined : detail });
  }

  private cached(url: string): LinkPreviewResult | null | undefined {
    const entry = this.cache.get(url);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry.result;
    this.cache.delete(url);
    return undefined;
  }

  private remember(url: string, result: LinkPreviewResult | null): LinkPreviewResult | null {
    if (this.closed) return result;
    // Re-inserting moves the key to the end, so Map order stays oldest-first for eviction.
    this.cache.delete(url);
    this.cache.set(url, { expires: Date.now() + CACHE_TTL_MS, result });
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= CACHE_MAX_ENTRIES) break;
      this.cache.delete(oldest);
    }
    return result;
  }

  /** Waits for a fetch slot; false when the queue is full or the previewer closed. */
  private acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.active < this.config.concurrency) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= QUEUE_MAX) return Promise.resolve(false);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the next waiter, or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(true);
    else this.active--;
  }
}
