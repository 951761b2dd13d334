// Package deploy holds no code: its directory keeps tokensvc's deployment
// files (kubernetes/, a kustomize base, and prometheus/, alerting rules),
// and its tests check them, with docker-compose.yml, against the code they
// deploy: the settings they name exist, the ports and probes match the
// listeners and routes, and the shutdown settings fit the grace period.
package deploy
