/**
 * Why a preview was not made. These codes go to the debug log (with the host, never the
 * body), so an operator can tell a refused address from a slow site.
 */
export type RefusalCode =
  | 'bad_url' // not an absolute http(s) URL, or too long
  | 'blocked_address' // the host resolved to an address outside the policy
  | 'dns_failed'
  | 'too_many_redirects'
  | 'bad_redirect' // 3xx without a usable Location
  | 'http_status' // final status not 2xx
  | 'not_html' // content-type is not an HTML type
  | 'network' // connection or TLS error, reset mid-body
  | 'timeout'
  | 'closed' // the previewer was closed while this fetch ran
  | 'no_metadata'; // page had no title, description or image

/** A fetch that ended without a page; `code` is stable, `message` is for humans. */
export class PreviewRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string = code,
  ) {
    super(message);
    this.name = 'PreviewRefusal';
  }
}
