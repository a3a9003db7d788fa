/** Implementation name and version reported by GetServerInfo. Keep in step with package.json. */
export const SERVER_VERSION = "chatwire-server/0.1.0";
