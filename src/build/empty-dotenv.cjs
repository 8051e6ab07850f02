// Stands in for dotenv in the bundle: the add-on must not read a .env file from splunkd's working directory.
module.exports = { config: () => ({ parsed: {} }) };
