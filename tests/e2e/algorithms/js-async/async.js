const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports.start = async (args) => {
  await wait(50);
  return { upper: String(args.input[0]).toUpperCase(), batchIndex: args.batchIndex };
};
