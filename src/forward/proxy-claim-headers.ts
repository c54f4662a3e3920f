/**
 * Headers a backend may read as a claim that only a proxy in front of it can make: the client's
 * address, the scheme, host, port or URL the client used, or who the client is. From a peer that
 * is not in `trustedProxies` every one of them is dropped (header-rules.ts); Portcullis sets
 * `X-Forwarded-For/-Proto/-Host` and its own identity headers itself.
 *
 * Kept as data, each entry with where it is honoured, so the list can be reviewed and extended
 * without reading code. Names are canonical: lower case, with `-` (a client's `_` and `.`
 * spellings are folded to `-` before lookup, as CGI/WSGI, Rack, PHP and some proxies do).
 */

/** What a backend believes when it trusts the header. */
export type ClaimKind = 'address' | 'url' | 'scheme' | 'host' | 'identity';

export interface ProxyClaimHeader {
  /** Canonical name (lower case, hyphens). */
  readonly name: string;
  readonly claim: ClaimKind;
  /** Who honours it, with a documentation page. */
  readonly sources: readonly string[];
}

export const PROXY_CLAIM_HEADERS: readonly ProxyClaimHeader[] = [
  // The standard and its de-facto siblings.
  {
    name: 'forwarded',
    claim: 'address',
    sources: [
      'RFC 7239',
      'Spring ForwardedHeaderFilter https://docs.spring.io/spring-framework/reference/web/webmvc/filters.html#filters-forwarded-headers',
      'Rack::Request (forwarded_priority) https://github.com/rack/rack/blob/main/lib/rack/request.rb',
    ],
  },
  {
    name: 'x-forwarded',
    claim: 'address',
    sources: ['ipware (Django) https://github.com/un33k/django-ipware', 'request-ip (Node) https://github.com/pbojinov/request-ip'],
  },
  {
    name: 'x-real-ip',
    claim: 'address',
    sources: [
      'nginx ngx_http_realip_module real_ip_header https://nginx.org/en/docs/http/ngx_http_realip_module.html',
      'Tornado xheaders https://www.tornadoweb.org/en/stable/httpserver.html',
      'Traefik https://doc.traefik.io/traefik/getting-started/faq/',
      'Kong https://docs.konghq.com/gateway/latest/reference/configuration/#real_ip_header',
    ],
  },
  {
    name: 'client-ip',
    claim: 'address',
    sources: [
      'Rails ActionDispatch::RemoteIp (HTTP_CLIENT_IP) https://api.rubyonrails.org/classes/ActionDispatch/RemoteIp.html',
      'PHP frameworks and request-ip (Node)',
    ],
  },
  {
    name: 'x-client-ip',
    claim: 'address',
    sources: [
      'Apache mod_remoteip RemoteIPHeader examples https://httpd.apache.org/docs/current/mod/mod_remoteip.html',
      'request-ip (Node) https://github.com/pbojinov/request-ip',
    ],
  },
  {
    name: 'x-cluster-client-ip',
    claim: 'address',
    sources: ['Rackspace / Riverbed Stingray load balancers', 'Zend Framework RemoteAddress', 'request-ip (Node)'],
  },
  {
    name: 'true-client-ip',
    claim: 'address',
    sources: [
      'Akamai https://techdocs.akamai.com/property-mgr/docs/origin-ip-acl',
      'Cloudflare Enterprise https://developers.cloudflare.com/fundamentals/reference/http-headers/',
    ],
  },
  {
    name: 'cf-connecting-ip',
    claim: 'address',
    sources: ['Cloudflare https://developers.cloudflare.com/fundamentals/reference/http-headers/'],
  },
  {
    name: 'cf-connecting-ipv6',
    claim: 'address',
    sources: ['Cloudflare https://developers.cloudflare.com/fundamentals/reference/http-headers/'],
  },
  {
    name: 'cf-pseudo-ipv4',
    claim: 'address',
    sources: ['Cloudflare https://developers.cloudflare.com/fundamentals/reference/http-headers/'],
  },
  { name: 'cf-visitor', claim: 'scheme', sources: ['Cloudflare https://developers.cloudflare.com/fundamentals/reference/http-headers/'] },
  {
    name: 'fastly-client-ip',
    claim: 'address',
    sources: ['Fastly https://www.fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP/'],
  },
  { name: 'fastly-ssl', claim: 'scheme', sources: ['Fastly https://www.fastly.com/documentation/reference/http/http-headers/Fastly-SSL/'] },
  {
    name: 'x-azure-clientip',
    claim: 'address',
    sources: ['Azure Front Door https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol'],
  },
  {
    name: 'x-azure-socketip',
    claim: 'address',
    sources: ['Azure Front Door https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol'],
  },
  {
    name: 'x-appengine-user-ip',
    claim: 'address',
    sources: ['Google App Engine https://cloud.google.com/appengine/docs/standard/reference/request-headers'],
  },
  { name: 'x-proxyuser-ip', claim: 'address', sources: ['Google front ends; request-ip (Node)'] },
  { name: 'wl-proxy-client-ip', claim: 'address', sources: ['Oracle WebLogic plug-in (WLProxyClientIP)'] },
  { name: 'proxy-client-ip', claim: 'address', sources: ['Oracle WebLogic / Apache plug-ins; common in Java getRemoteAddr helpers'] },
  { name: 'x-originating-ip', claim: 'address', sources: ['Microsoft Exchange / mail gateways; request-ip lists'] },
  { name: 'x-remote-ip', claim: 'address', sources: ['common in PHP/Java client-address helpers'] },
  { name: 'x-remote-addr', claim: 'address', sources: ['common in PHP/Java client-address helpers'] },
  {
    name: 'x-original-forwarded-for',
    claim: 'address',
    sources: ['ingress-nginx https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/configmap/#forwarded-for-header'],
  },
  {
    name: 'x-original-for',
    claim: 'address',
    sources: ['ASP.NET Core ForwardedHeadersMiddleware https://learn.microsoft.com/aspnet/core/host-and-deploy/proxy-load-balancer'],
  },
  { name: 'x-client-port', claim: 'address', sources: ['F5 / HAProxy configurations'] },
  { name: 'x-real-port', claim: 'address', sources: ['nginx configurations (realip $remote_port)'] },
  {
    name: 'forwarded-for',
    claim: 'address',
    sources: [
      'request-ip (Node) and PHP client-address helpers (HTTP_FORWARDED_FOR) https://github.com/pbojinov/request-ip',
      'Zend Framework RemoteAddress',
    ],
  },
  {
    name: 'x-original-remote-addr',
    claim: 'address',
    sources: ['IIS Application Request Routing / URL Rewrite configurations (X-Original-Remote-Addr)'],
  },
  { name: 'x-real-client-ip', claim: 'address', sources: ['Oracle Cloud / F5 configurations; client-address helper lists (Param Miner)'] },
  { name: 'akamai-client-ip', claim: 'address', sources: ['Akamai https://techdocs.akamai.com/property-mgr/docs/origin-ip-acl'] },
  {
    name: 'cloudfront-viewer-address',
    claim: 'address',
    sources: ['Amazon CloudFront https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html'],
  },
  { name: 'fly-client-ip', claim: 'address', sources: ['Fly.io https://fly.io/docs/networking/request-headers/'] },
  { name: 'x-vercel-forwarded-for', claim: 'address', sources: ['Vercel https://vercel.com/docs/headers/request-headers'] },
  {
    name: 'x-nf-client-connection-ip',
    claim: 'address',
    sources: ['Netlify https://docs.netlify.com/edge-functions/api/#request-headers'],
  },
  {
    name: 'x-forwarded-by',
    claim: 'address',
    sources: ['Tomcat RemoteIpValve proxiesHeader https://tomcat.apache.org/tomcat-10.1-doc/config/valve.html#Remote_IP_Valve'],
  },
  // Scheme and port.
  {
    name: 'x-forwarded-ssl',
    claim: 'scheme',
    sources: ['Rack::Request https://github.com/rack/rack/blob/main/lib/rack/request.rb', 'Spring ForwardedHeaderFilter'],
  },
  { name: 'x-forwarded-scheme', claim: 'scheme', sources: ['Rack::Request https://github.com/rack/rack/blob/main/lib/rack/request.rb'] },
  { name: 'x-forwarded-protocol', claim: 'scheme', sources: ['Elastic Load Balancing variants; Symfony trusted headers lists'] },
  {
    name: 'x-url-scheme',
    claim: 'scheme',
    sources: ['Rack::Request (HTTP_X_URL_SCHEME) https://github.com/rack/rack/blob/main/lib/rack/request.rb'],
  },
  { name: 'x-scheme', claim: 'scheme', sources: ['Tornado xheaders https://www.tornadoweb.org/en/stable/httpserver.html'] },
  { name: 'front-end-https', claim: 'scheme', sources: ['Microsoft ISA/OWA; Rack ssl? checks'] },
  { name: 'x-arr-ssl', claim: 'scheme', sources: ['IIS Application Request Routing / Azure App Service'] },
  { name: 'x-original-proto', claim: 'scheme', sources: ['ASP.NET Core ForwardedHeadersMiddleware'] },
  {
    name: 'x-forwarded-port',
    claim: 'host',
    sources: [
      'Rack, Spring ForwardedHeaderFilter, Django USE_X_FORWARDED_PORT https://docs.djangoproject.com/en/stable/ref/settings/#use-x-forwarded-port',
      'Werkzeug ProxyFix',
    ],
  },
  // Host.
  {
    name: 'x-forwarded-server',
    claim: 'host',
    sources: [
      'Apache mod_proxy https://httpd.apache.org/docs/current/mod/mod_proxy.html#x-headers',
      'Traefik https://doc.traefik.io/traefik/getting-started/faq/',
    ],
  },
  { name: 'x-original-host', claim: 'host', sources: ['ASP.NET Core ForwardedHeadersMiddleware', 'Azure Front Door / App Gateway'] },
  { name: 'x-host', claim: 'host', sources: ['Symfony/Laravel host override lists; web cache poisoning research (PortSwigger)'] },
  { name: 'x-http-host-override', claim: 'host', sources: ['web cache poisoning research (PortSwigger Param Miner list)'] },
  // The URL the client asked for.
  {
    name: 'x-original-url',
    claim: 'url',
    sources: [
      'IIS URL Rewrite; Symfony Request (before 5.0) https://symfony.com/blog/cve-2018-14773-remove-support-for-legacy-and-risky-http-headers',
    ],
  },
  { name: 'x-rewrite-url', claim: 'url', sources: ['IIS / ISAPI_Rewrite; Symfony Request (before 5.0)'] },
  {
    name: 'x-original-uri',
    claim: 'url',
    sources: ['nginx auth_request convention https://nginx.org/en/docs/http/ngx_http_auth_request_module.html', 'ingress-nginx'],
  },
  { name: 'x-forwarded-uri', claim: 'url', sources: ['Traefik ForwardAuth https://doc.traefik.io/traefik/middlewares/http/forwardauth/'] },
  { name: 'x-forwarded-path', claim: 'url', sources: ['Kong https://docs.konghq.com/gateway/latest/how-kong-works/routing-traffic/'] },
  {
    name: 'x-forwarded-prefix',
    claim: 'url',
    sources: [
      'Spring ForwardedHeaderFilter',
      'Werkzeug ProxyFix https://werkzeug.palletsprojects.com/en/stable/middleware/proxy_fix/',
      'Kong https://docs.konghq.com/gateway/latest/how-kong-works/routing-traffic/',
      'ASP.NET Core ForwardedHeadersOptions.ForwardedPrefixHeaderName',
    ],
  },
  { name: 'x-original-prefix', claim: 'url', sources: ['ASP.NET Core ForwardedHeadersMiddleware'] },
  { name: 'x-forwarded-method', claim: 'url', sources: ['Traefik ForwardAuth'] },
  { name: 'x-original-method', claim: 'url', sources: ['nginx auth_request convention'] },
  { name: 'x-script-name', claim: 'url', sources: ['Werkzeug/Flask reverse-proxy recipes, gunicorn SCRIPT_NAME'] },
  // Who the client is, as other authentication proxies tell their backends.
  {
    name: 'x-forwarded-client-cert',
    claim: 'identity',
    sources: ['Envoy XFCC https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert'],
  },
  {
    name: 'x-forwarded-tls-client-cert',
    claim: 'identity',
    sources: ['Traefik PassTLSClientCert https://doc.traefik.io/traefik/middlewares/http/passtlsclientcert/'],
  },
  { name: 'x-forwarded-tls-client-cert-info', claim: 'identity', sources: ['Traefik PassTLSClientCert'] },
  { name: 'x-ssl-client-cert', claim: 'identity', sources: ['HAProxy / nginx ($ssl_client_escaped_cert) configurations'] },
  { name: 'x-ssl-client-verify', claim: 'identity', sources: ['HAProxy / nginx configurations'] },
  { name: 'x-ssl-client-dn', claim: 'identity', sources: ['HAProxy / nginx configurations'] },
  {
    name: 'x-client-cert',
    claim: 'identity',
    sources: ['Google Cloud Load Balancing mTLS custom headers; AWS ALB mTLS (X-Amzn-Mtls-Clientcert)'],
  },
  {
    name: 'x-amzn-mtls-clientcert',
    claim: 'identity',
    sources: ['AWS ALB mTLS https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html'],
  },
  {
    name: 'x-arr-clientcert',
    claim: 'identity',
    sources: ['Azure App Service https://learn.microsoft.com/azure/app-service/app-service-web-configure-tls-mutual-auth'],
  },
  {
    name: 'ssl-client-cert',
    claim: 'identity',
    sources: ['Tomcat SSLValve (ssl_client_cert) https://tomcat.apache.org/tomcat-10.1-doc/config/valve.html#SSL_Valve'],
  },
  { name: 'ssl-cipher', claim: 'identity', sources: ['Tomcat SSLValve'] },
  { name: 'ssl-session-id', claim: 'identity', sources: ['Tomcat SSLValve'] },
  { name: 'ssl-cipher-usekeysize', claim: 'identity', sources: ['Tomcat SSLValve'] },
  {
    name: 'x-amzn-oidc-data',
    claim: 'identity',
    sources: [
      'AWS ALB authentication https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html',
    ],
  },
  { name: 'x-amzn-oidc-identity', claim: 'identity', sources: ['AWS ALB authentication'] },
  { name: 'x-amzn-oidc-accesstoken', claim: 'identity', sources: ['AWS ALB authentication'] },
  { name: 'x-goog-authenticated-user-email', claim: 'identity', sources: ['Google IAP https://cloud.google.com/iap/docs/identity-howto'] },
  { name: 'x-goog-authenticated-user-id', claim: 'identity', sources: ['Google IAP'] },
  { name: 'x-goog-iap-jwt-assertion', claim: 'identity', sources: ['Google IAP https://cloud.google.com/iap/docs/signed-headers-howto'] },
  {
    name: 'x-ms-client-principal',
    claim: 'identity',
    sources: ['Azure App Service authentication https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities'],
  },
  { name: 'x-ms-client-principal-id', claim: 'identity', sources: ['Azure App Service authentication'] },
  { name: 'x-ms-client-principal-name', claim: 'identity', sources: ['Azure App Service authentication'] },
  { name: 'x-ms-client-principal-idp', claim: 'identity', sources: ['Azure App Service authentication'] },
  {
    name: 'x-forwarded-user',
    claim: 'identity',
    sources: [
      'oauth2-proxy --pass-user-headers https://oauth2-proxy.github.io/oauth2-proxy/configuration/overview',
      'Apache mod_auth_openidc',
    ],
  },
  { name: 'x-forwarded-email', claim: 'identity', sources: ['oauth2-proxy'] },
  { name: 'x-forwarded-preferred-username', claim: 'identity', sources: ['oauth2-proxy'] },
  { name: 'x-forwarded-groups', claim: 'identity', sources: ['oauth2-proxy'] },
  { name: 'x-forwarded-access-token', claim: 'identity', sources: ['oauth2-proxy'] },
  { name: 'x-auth-request-user', claim: 'identity', sources: ['oauth2-proxy --set-xauthrequest, ingress-nginx auth-response-headers'] },
  { name: 'x-auth-request-email', claim: 'identity', sources: ['oauth2-proxy --set-xauthrequest'] },
  { name: 'x-auth-request-preferred-username', claim: 'identity', sources: ['oauth2-proxy --set-xauthrequest'] },
  { name: 'x-auth-request-groups', claim: 'identity', sources: ['oauth2-proxy --set-xauthrequest'] },
  { name: 'x-auth-request-access-token', claim: 'identity', sources: ['oauth2-proxy --set-xauthrequest'] },
  {
    name: 'remote-user',
    claim: 'identity',
    sources: [
      'CGI REMOTE_USER read from HTTP_REMOTE_USER by misconfigured apps; Django RemoteUserMiddleware docs warn https://docs.djangoproject.com/en/stable/howto/auth-remote-user/',
    ],
  },
  {
    name: 'x-remote-user',
    claim: 'identity',
    sources: [
      'Kubernetes API server front-proxy --requestheader-username-headers https://kubernetes.io/docs/reference/access-authn-authz/authentication/#authenticating-proxy',
    ],
  },
  { name: 'x-remote-group', claim: 'identity', sources: ['Kubernetes API server front-proxy --requestheader-group-headers'] },
  {
    name: 'x-webauth-user',
    claim: 'identity',
    sources: [
      'Grafana auth proxy https://grafana.com/docs/grafana/latest/setup-grafana/configure-security/configure-authentication/auth-proxy/',
    ],
  },
  {
    name: 'x-authenticated-userid',
    claim: 'identity',
    sources: ['Kong OAuth2 / auth plugins https://docs.konghq.com/hub/kong-inc/oauth2/'],
  },
  { name: 'x-authenticated-scope', claim: 'identity', sources: ['Kong OAuth2 plugin'] },
  {
    name: 'x-consumer-id',
    claim: 'identity',
    sources: ['Kong authentication plugins https://docs.konghq.com/gateway/latest/kong-plugins/authentication/reference/'],
  },
  { name: 'x-consumer-username', claim: 'identity', sources: ['Kong authentication plugins'] },
  { name: 'x-consumer-custom-id', claim: 'identity', sources: ['Kong authentication plugins'] },
  { name: 'x-credential-identifier', claim: 'identity', sources: ['Kong authentication plugins'] },
  { name: 'x-anonymous-consumer', claim: 'identity', sources: ['Kong authentication plugins'] },
  { name: 'x-userinfo', claim: 'identity', sources: ['Kong / lua-resty-openidc OIDC plugins'] },
  {
    name: 'remote-email',
    claim: 'identity',
    sources: ['Authelia trusted-header SSO https://www.authelia.com/integration/trusted-header-sso/introduction/'],
  },
  { name: 'remote-groups', claim: 'identity', sources: ['Authelia trusted-header SSO'] },
  { name: 'remote-name', claim: 'identity', sources: ['Authelia trusted-header SSO'] },
  {
    name: 'cf-access-authenticated-user-email',
    claim: 'identity',
    sources: ['Cloudflare Access https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/'],
  },
  {
    name: 'cf-access-jwt-assertion',
    claim: 'identity',
    sources: ['Cloudflare Access https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/'],
  },
  {
    name: 'x-pomerium-jwt-assertion',
    claim: 'identity',
    sources: ['Pomerium https://www.pomerium.com/docs/capabilities/getting-users-identity'],
  },
  {
    name: 'x-ms-token-aad-id-token',
    claim: 'identity',
    sources: [
      'Azure App Service authentication token store https://learn.microsoft.com/azure/app-service/configure-authentication-oauth-tokens',
    ],
  },
  { name: 'x-vouch-user', claim: 'identity', sources: ['Vouch Proxy https://github.com/vouch/vouch-proxy'] },
  {
    name: 'x-auth-user',
    claim: 'identity',
    sources: ["nginx auth_request / Caddy forward_auth configurations (copied from the auth service's answer)"],
  },
  {
    name: 'x-user',
    claim: 'identity',
    sources: ['Ory Oathkeeper header mutator examples https://www.ory.sh/docs/oathkeeper/pipeline/mutator'],
  },
];

/**
 * Name prefixes whose every header is such a claim: Envoy reads its `x-envoy-*` headers from
 * the request (`x-envoy-external-address`, `x-envoy-original-path`, `x-envoy-internal`, …,
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter),
 * every `x-forwarded-*` is a proxy's statement about the original request, and the identity
 * proxies below put one header per claim under their prefix.
 */
export const PROXY_CLAIM_PREFIXES: readonly { readonly prefix: string; readonly sources: readonly string[] }[] = [
  { prefix: 'x-forwarded-', sources: ['every proxy above; the prefix is reserved to proxies by convention'] },
  { prefix: 'x-envoy-', sources: ['Envoy https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers'] },
  {
    prefix: 'x-remote-extra-',
    sources: [
      'Kubernetes API server front-proxy --requestheader-extra-headers-prefix https://kubernetes.io/docs/reference/access-authn-authz/authentication/#authenticating-proxy',
    ],
  },
  {
    prefix: 'x-pomerium-',
    sources: ['Pomerium (X-Pomerium-Jwt-Assertion, X-Pomerium-Claim-*) https://www.pomerium.com/docs/reference/jwt-claim-headers'],
  },
  {
    prefix: 'x-authentik-',
    sources: [
      'authentik proxy provider (X-authentik-username, -groups, -email, -uid, -jwt, …) https://docs.goauthentik.io/docs/add-secure-apps/providers/proxy/',
    ],
  },
  { prefix: 'cf-access-', sources: ['Cloudflare Access (Cf-Access-Jwt-Assertion, Cf-Access-Authenticated-User-Email, …)'] },
  {
    prefix: 'x-ms-token-',
    sources: [
      'Azure App Service token store (X-MS-TOKEN-AAD-ID-TOKEN, -ACCESS-TOKEN, …) https://learn.microsoft.com/azure/app-service/configure-authentication-oauth-tokens',
    ],
  },
  {
    prefix: 'x-ms-client-principal',
    sources: ['Azure App Service authentication (X-MS-CLIENT-PRINCIPAL, -ID, -NAME, -IDP and later additions)'],
  },
  {
    prefix: 'x-vouch-',
    sources: ['Vouch Proxy (X-Vouch-User, X-Vouch-IdP-Claims-*, X-Vouch-IdP-IdToken, …) https://github.com/vouch/vouch-proxy'],
  },
];
