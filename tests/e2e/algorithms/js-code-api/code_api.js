module.exports.start = async (args, api) => api.startAlgorithm('echo', [1]);
