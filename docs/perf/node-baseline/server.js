// The mint service a user would write by hand with express and
// jsonwebtoken: the baseline tokensvc is compared with in docs/PERFORMANCE.md.
// MODE=parsed parses the PEM once; MODE=pem passes the PEM string on every
// call, as jsonwebtoken's README shows.
const crypto = require('crypto');
const express = require('express');
const jwt = require('jsonwebtoken');

const { privateKey } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const signingKey = process.env.MODE === 'pem' ? privateKey : crypto.createPrivateKey(privateKey);
const apiKey = process.env.API_KEY || 'node-baseline-key';

const app = express();
app.use(express.json({ limit: '64kb' }));
app.post('/v1/tokens', (req, res) => {
  if (req.get('authorization') !== `Bearer ${apiKey}`) return res.status(401).end();
  const userId = req.body && req.body.user_id;
  if (typeof userId !== 'string' || userId === '') return res.status(400).end();
  const token = jwt.sign({ sub: { key: 'uid', value: userId } }, signingKey, {
    algorithm: 'RS256', expiresIn: 3600, keyid: 'k1',
  });
  res.json({ token, token_type: 'JWT', kid: 'k1', alg: 'RS256', expires_in: 3600 });
});
app.listen(Number(process.env.PORT || 3000), '127.0.0.1');
