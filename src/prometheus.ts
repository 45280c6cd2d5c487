/** The package entry `shardedmap/prometheus`: the map's figures as
 *  Prometheus metrics (integrations/prometheus.ts). */
export * from './integrations/prometheus.js';
